# utility: bring the BIOS and BMC firmware up to the wanted versions
wanted = { bios = "2.4.1", bmc = "7.10" }
updated = []
parts = [ "bios", "bmc" ]
while len( array=parts ) > 0 do
begin( description="Firmware", expected_time=15:00, max_time=2:00:00 )
  part = pop( array=parts, index=0 )
  current = foundation.firmware_version( component=part )
  if current == wanted[part] then continue
  begin( description="Update firmware", max_time=45:00 )
    foundation.update_firmware( component=part, version=wanted[part] )
    delay( minutes=5 )
    foundation.power_cycle()
  end
  append( array=updated, value=part . " " . current . " -> " . wanted[part] )
end
iputils.wait_for_port( port=22, timeout=900 )
