# the BMC must answer before anything else; ask the operator to fix cabling
bmc_checks = 0
while not iputils.ping( ip=config.bmc_ip ) do
begin()
  bmc_checks = bmc_checks + 1
  if bmc_checks >= 2 then pause( msg="Check the BMC cabling of " . config.hostname )
  delay( seconds=15 )
end
foundation.power_on()
ssh = iputils.wait_for_port( port=22, timeout=300 )
