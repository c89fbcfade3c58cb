# build the settings of a host from its configuration, with defaults
if exists( config.ntp_server ) then ntp = config.ntp_server
else ntp = "pool.ntp.org"

if exists( config.domain ) then fqdn = config.hostname . "." . config.domain
else fqdn = config.hostname

settings = {
  hostname = config.hostname,
  fqdn = fqdn,
  ntp = ntp,
  dns = config.dns_servers,
  swap = none,
}
if exists( config.swap_size ) then settings["swap"] = config.swap_size
primary_dns = settings["dns"][0]
dns_count = len( array=settings["dns"] )
