# create: network install through PXE, then switch to booting from disk
begin( description="Prepare boot", expected_time=0:30 )
  foundation.set_pxe_boot()
  foundation.power_cycle()
end

begin( description="Install OS", expected_time=20:00, max_time=1:00:00 )
  installer_up = iputils.wait_for_port( port=8080, timeout=600 )
  if not installer_up then error( msg="installer did not start" )
  delay( minutes=10 )
  while not iputils.wait_for_port( port=22, timeout=300 ) do delay( seconds=60 )
end

foundation.set_disk_boot()
foundation.power_cycle()
ready = iputils.wait_for_port( port=22, timeout=600 )
config.provisioned = ready
