# utility: reboot the host and wait until it is back
message( msg="Rebooting " . config.hostname )
foundation.power_off()
delay( seconds=30 )
foundation.power_on()
begin( description="Wait for boot", expected_time=3:00, max_time=30:00 )
  up = false
  waited = 0
  while not up do
  begin()
    up = iputils.wait_for_port( port=22, timeout=60 )
    waited = waited + 1
    if waited > 10 then fatal_error( msg="host did not come back" )
  end
end
uptime_ok = up and waited <= 10
