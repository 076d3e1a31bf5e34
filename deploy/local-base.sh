#!/usr/bin/env bash
# Builds a local Java 17 JRE base image for the Dockerfile when no container registry is reachable:
# Debian minbase (debootstrap, from the mirror apt is configured with) + openjdk-17-jre-headless,
# imported into podman. Kept between runs: does nothing when the image already exists.
#   usage: deploy/local-base.sh [IMAGE]   (default localhost/sagegate-base:jre17-bookworm)
set -euo pipefail
image=${1:-localhost/sagegate-base:jre17-bookworm}
if podman image exists "$image"; then
  echo "local-base: $image exists, kept" >&2
  exit 0
fi

# The mirror and suite apt uses here (deb822 .sources or one-line sources.list).
mirror= suite=
for f in /etc/apt/sources.list.d/*.sources; do
  [ -f "$f" ] || continue
  if grep -q '^URIs:.*/debian/*$' "$f"; then
    mirror=$(awk '/^URIs:/ {print $2; exit}' "$f")
    suite=$(awk '/^Suites:/ {print $2; exit}' "$f")
    break
  fi
done
if [ -z "$mirror" ] && [ -f /etc/apt/sources.list ]; then
  read -r mirror suite < <(awk '$1 == "deb" && $2 ~ /\/debian\/?$/ {print $2, $3; exit}' /etc/apt/sources.list)
fi
mirror=${mirror:-http://deb.debian.org/debian}
suite=${suite:-bookworm}

root=$(mktemp -d /var/tmp/sagegate-base.XXXXXX)
cleanup() {
  umount "$root/proc" 2>/dev/null || true
  rm -rf --one-file-system "$root"
}
trap cleanup EXIT

echo "local-base: debootstrap $suite from $mirror" >&2
debootstrap --variant=minbase "$suite" "$root" "$mirror" >/dev/null
mount -t proc proc "$root/proc"
# No daemons may start inside the chroot while packages install.
printf '#!/bin/sh\nexit 101\n' > "$root/usr/sbin/policy-rc.d"; chmod +x "$root/usr/sbin/policy-rc.d"
chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
  openjdk-17-jre-headless >/dev/null
umount "$root/proc"
# Shrink: what a JRE at run time never reads. apt stays usable (lists are re-fetched by apt-get update).
chroot "$root" apt-get clean
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/debconf/*-old "$root"/var/log/* \
  "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/* \
  "$root"/usr/share/locale/* "$root"/usr/sbin/policy-rc.d
java_home=$(dirname "$(dirname "$(chroot "$root" readlink -f /usr/bin/java)")")
tar -C "$root" -c . | podman import \
  --change "ENV JAVA_HOME=$java_home" \
  --change 'ENV LANG=C.UTF-8' \
  --change 'CMD ["java", "-version"]' \
  - "$image" >/dev/null
echo "local-base: imported $image ($(podman image inspect --format '{{.Size}}' "$image") bytes)" >&2
