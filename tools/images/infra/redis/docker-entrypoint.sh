#!/bin/sh
# As the official redis image's docker-entrypoint.sh (7.4): options alone mean redis-server with
# them; started as root, it hands /data to `redis` (999) and drops to it (setpriv here, gosu there);
# started as any other user (k8s/redis.yaml runs it as 999) it skips that. umask 0077 unless set.
set -e

# first arg is `-f` or `--some-option`, or first arg is `something.conf`
if [ "${1#-}" != "$1" ] || [ "${1%.conf}" != "$1" ]; then
  set -- redis-server "$@"
fi

if [ "$1" = 'redis-server' ] && [ "$(id -u)" = '0' ]; then
  find . \! -user redis -exec chown redis '{}' +
  exec setpriv --reuid=redis --regid=redis --init-groups "$0" "$@"
fi

um="$(umask)"
if [ "$um" = '0022' ]; then
  umask 0077
fi

exec "$@"
