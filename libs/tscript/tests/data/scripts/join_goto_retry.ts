# wait for the leader with a top-level goto retry loop and a growing delay
attempt = 0
backoff = 5
:again
attempt = attempt + 1
ready = iputils.wait_for_port( port=6443, timeout=120 )
if ready then goto joined
if attempt >= 6 then fatal_error( msg="leader never answered" )
delay( seconds=backoff )
backoff = backoff * 2
goto again
:joined
foundation.power_cycle()
result = { attempts = attempt, last_backoff = backoff }
