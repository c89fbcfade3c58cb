# destroy: wipe the disks; a failed wipe stops in error so the operator can retry
foundation.power_on()
wiped = "not started"
rounds = 0
while wiped != "ok" do
begin( description="Wipe disks", expected_time=30:00 )
  rounds = rounds + 1
  wiped = foundation.wipe_disks( passes=1 )
  if wiped != "ok" then error( msg="wipe failed: " . wiped )
end
foundation.power_off()
