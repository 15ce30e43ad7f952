#!/bin/bash
# Builds the guest of the kernel interop test (npm run test:kernel): Debian's own kernel (the package that
# linux-image-amd64 depends on, fetched with apt-get download: nothing from elsewhere), the modules the test
# needs with their dependencies, static busybox, the host's iproute2 `ip` with its libraries, and kpeer (the
# guest agent, test/kernel/guest/kpeer.c), packed as an initramfs. Idempotent; output in $IPSEC3GPP_KERNEL_CACHE
# (default /tmp/ipsec3gpp-kernel): vmlinuz, initrd.gz, kernel.txt (package and version), and kamailio.txt when
# the host's Kamailio P-CSCF (packages kamailio, kamailio-ims-modules) went into the guest too.
# Needs: qemu-system-x86, busybox-static, cpio, gcc + libc6-dev, iproute2, apt (Debian/Ubuntu); optional:
# kamailio + kamailio-ims-modules (the guest gets the P-CSCF of test/kernel/kamailio.ts).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
CACHE="${IPSEC3GPP_KERNEL_CACHE:-/tmp/ipsec3gpp-kernel}"
mkdir -p "$CACHE"
cd "$CACHE"

missing=()
for pair in qemu-system-x86_64:qemu-system-x86 busybox:busybox-static cpio:cpio gcc:gcc ip:iproute2 apt-get:apt dpkg-deb:dpkg; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "build-guest: missing ${missing[*]} (apt-get install -y --no-install-recommends ${missing[*]})" >&2
  exit 3
fi
BB="$(command -v busybox)"
if ldd "$BB" >/dev/null 2>&1; then echo "build-guest: $BB is dynamically linked: install busybox-static" >&2; exit 3; fi

# 1. The kernel package (cached; the full tree's modules.dep computed once).
if [ ! -f kernel/.ready ]; then
  rm -rf kernel && mkdir -p kernel/deb
  PKG="${IPSEC3GPP_KERNEL_PKG:-$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')}"
  [ -n "$PKG" ] || { echo "build-guest: cannot resolve linux-image-amd64 (apt-get update first)" >&2; exit 3; }
  # (apt warns that root downloads unsandboxed into a directory _apt cannot write: harmless, kept in apt.log)
  (cd kernel/deb && apt-get download "$PKG" >../apt.log 2>&1) || { cat kernel/apt.log >&2; echo "build-guest: apt-get download $PKG failed" >&2; exit 3; }
  dpkg-deb -x kernel/deb/*.deb kernel/tree
  rm -rf kernel/deb
  KVER="$(ls kernel/tree/lib/modules | head -n 1)"
  "$BB" depmod -b kernel/tree "$KVER"
  echo "$PKG $KVER" > kernel/id
  touch kernel/.ready
fi
read -r PKG KVER < kernel/id
MD="kernel/tree/lib/modules/$KVER"

# 2. The root tree.
rm -rf root && mkdir -p root/{bin,sbin,dev,proc,sys,tmp,etc,lib64,lib/x86_64-linux-gnu,"lib/modules/$KVER"}
cp "$BB" root/bin/busybox
for a in sh cat echo ls mkdir mount sleep poweroff sysctl dmesg grep cut head tail modprobe insmod depmod printf; do ln -sf busybox "root/bin/$a"; done
ln -sf ../bin/busybox root/sbin/modprobe
IP="$(command -v ip)"
cp "$IP" root/sbin/ip
ldd "$IP" | awk '/=>/ {print $3} /ld-linux/ {print $1}' | while read -r lib; do
  [ -f "$lib" ] || continue
  case "$lib" in */ld-linux*) cp -L "$lib" root/lib64/ ;; *) cp -L "$lib" root/lib/x86_64-linux-gnu/ ;; esac
done
gcc -static -O2 -Wall -Wextra -o root/bin/kpeer "$HERE/guest/kpeer.c"
cp "$HERE/guest/init.sh" root/init && chmod +x root/init

# 2b. Kamailio (optional: the P-CSCF peer of test/kernel/kamailio.ts), when the host has Debian's kamailio and
#     kamailio-ims-modules: the binary, the modules its P-CSCF config loads, and every library they link, each
#     at its own path (the modules find libkamailio_ims through their RUNPATH). kamailio.txt says what went in.
KMODS="kex corex tm sl rr pv maxfwd textops siputils xlog path sanity ims_usrloc_pcscf ims_registrar_pcscf ims_ipsec_pcscf"
KDIR=/usr/lib/x86_64-linux-gnu/kamailio/modules
rm -f kamailio.txt
if [ -x /usr/sbin/kamailio ] && [ -f "$KDIR/ims_ipsec_pcscf.so" ]; then
  mkdir -p root/usr/sbin "root$KDIR" root/run root/var/run
  cp /usr/sbin/kamailio root/usr/sbin/
  objs=(/usr/sbin/kamailio)
  for m in $KMODS; do cp "$KDIR/$m.so" "root$KDIR/"; objs+=("$KDIR/$m.so"); done
  for o in "${objs[@]}"; do ldd "$o"; done | awk '/=>/ {print $3}' | sort -u | while read -r lib; do
    [ -f "$lib" ] || continue
    mkdir -p "root$(dirname "$lib")"
    cp -L "$lib" "root$lib"
  done
  # the shell and tools the test uses around it
  for a in base64 kill seq sed wc; do ln -sf busybox "root/bin/$a"; done
  # what its resolver and getprotobyname() read (TCP listeners need the protocol number)
  printf 'hosts: files\nprotocols: files\n' > root/etc/nsswitch.conf
  printf '127.0.0.1 localhost\n' > root/etc/hosts
  printf 'ip 0 IP\ntcp 6 TCP\nudp 17 UDP\n' > root/etc/protocols
  echo "$(/usr/sbin/kamailio -v | head -n 1 | sed 's/^version: //; s/ *$//') (package $(dpkg-query -W -f='${Version}' kamailio-ims-modules 2>/dev/null))" > kamailio.txt
fi

# 3. Modules: the wanted ones and everything they depend on (from the tree's modules.dep).
WANT="virtio_pci virtio_net xfrm_user esp4 esp6 xfrm4_tunnel xfrm6_tunnel authenc authencesn crypto_null des_generic
 des3_ede-x86_64 md5 sha1_generic sha1-ssse3 hmac cbc ecb aes_generic aesni-intel ghash-generic ghash-clmulni-intel gcm ctr
 seqiv echainiv sha512_generic jitterentropy_rng drbg"
declare -A seen=()
queue=()
for m in $WANT; do
  f="$(awk -F: -v a="/${m}.ko" -v b="/${m//-/_}.ko" '{ if (index($1, a) || index($1, b)) { print $1; exit } }' "$MD/modules.dep")"
  [ -n "$f" ] && queue+=("$f")   # absent: built into this kernel
done
while [ "${#queue[@]}" -gt 0 ]; do
  f="${queue[0]}"; queue=("${queue[@]:1}")
  [ -n "${seen[$f]:-}" ] && continue
  seen[$f]=1
  mkdir -p "root/lib/modules/$KVER/$(dirname "$f")"
  cp "$MD/$f" "root/lib/modules/$KVER/$f"
  for d in $(grep -E "^${f//./\\.}:" "$MD/modules.dep" | cut -d: -f2); do queue+=("$d"); done
done
cp "$MD"/modules.builtin* "root/lib/modules/$KVER/" 2>/dev/null || true
"$BB" depmod -b root "$KVER"

# 4. Pack.
cp -f "kernel/tree/boot/vmlinuz-$KVER" vmlinuz
(cd root && find . | cpio -o -H newc --quiet | gzip -1 > ../initrd.gz)
echo "$PKG $KVER ${#seen[@]} modules" > kernel.txt
echo "build-guest: $(cat kernel.txt)$( [ -f kamailio.txt ] && echo ", $(cat kamailio.txt)"), initrd $(du -k initrd.gz | cut -f1) KiB" >&2
