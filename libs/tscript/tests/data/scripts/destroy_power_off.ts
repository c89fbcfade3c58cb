# destroy: power the machine off and wait until the BMC reports it off
begin( description="Power off", expected_time=1:00, max_time=10:00 )
  foundation.power_off()
  polls = 0
  while foundation.power_state() != "off" do
  begin()
    polls = polls + 1
    if polls > 20 then error( msg="still powered on after " . polls . " polls" )
    delay( seconds=5 )
  end
end
foundation.set_disk_boot()
config.provisioned = false
