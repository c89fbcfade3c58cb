# make sure the machine is powered on, retrying with goto
tries = 0
:retry
tries = tries + 1
state = foundation.power_state()
if state != "on" then
begin( description="Power on attempt" )
  if tries >= 4 then error( msg="power did not come on after " . tries . " tries" )
  foundation.power_on()
  delay( seconds=10 )
  goto retry
end
message( msg=config.hostname . " powered on" )
