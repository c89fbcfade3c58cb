# create: bring up a bare-metal host over PXE and wait until SSH answers
begin( description="Power on", expected_time=0:30 )
  foundation.set_pxe_boot()
  foundation.power_on()
end

attempts = 0
ssh_up = false
while not ssh_up and attempts < 5 do
begin( description="Wait for SSH", expected_time=5:00 )
  attempts = attempts + 1
  ssh_up = iputils.wait_for_port( port=22, timeout=300 )
  if not ssh_up then delay( seconds=30 )
end

if not ssh_up then fatal_error( msg="SSH never came up on " . config.hostname )
summary = config.hostname . " is up after " . attempts . " attempts"
