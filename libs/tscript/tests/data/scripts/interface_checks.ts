# ping every configured interface, retrying each a few times
interfaces = config.interfaces
failed = []
checked = 0
ii = 0
while ii < len( array=interfaces ) do
begin( description="Check interface" )
  nic = interfaces[ii]
  ii = ii + 1
  if nic["ip"] == none then continue
  checked = checked + 1
  tries = 0
  ok = false
  while tries < 3 do
  begin()
    tries = tries + 1
    ok = iputils.ping( ip=nic["ip"] )
    if ok then break
    delay( seconds=5 )
  end
  if not ok then append( array=failed, value=nic["name"] )
end
if len( array=failed ) > 0 then message( msg="unreachable: " . failed )
