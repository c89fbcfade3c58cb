# create: join a new node to its cluster after the OS is up
nodes = config.cluster_nodes
me = config.hostname
position = index( array=nodes, value=me )
peers = slice( array=nodes, start=0, end=position )
if len( array=peers ) == 0 then
begin( description="Bootstrap cluster" )
  role = "leader"
  iputils.wait_for_port( port=6443, timeout=600 )
end
else
begin( description="Join cluster" )
  role = "member"
  leader = peers[0]
  ready = false
  attempt = 0
  attempt = attempt + 1
  ready = iputils.wait_for_port( port=6443, timeout=120 )
end
labels = { role = role, rack = config.rack }
labels["index"] = position
