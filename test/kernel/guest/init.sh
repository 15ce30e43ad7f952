#!/bin/sh
# /init of the kernel-peer guest: load the network, XFRM and crypto modules, configure eth0 with the
# documentation addresses 192.0.2.2/24 and 2001:db8::2/64, start kpeer (the test's agent, TCP 7000) and
# power off when it quits. The host end of the link is a tap device in the test's network namespace.
export PATH=/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in virtio_pci failover net_failover virtio_net xfrm_user xfrm_algo esp4 esp6 xfrm4_tunnel xfrm6_tunnel tunnel4 tunnel6 \
         authenc authencesn crypto_null des_generic des3_ede-x86_64 libdes md5 sha1_generic sha1-ssse3 hmac cbc ecb \
         aes_generic aesni-intel gf128mul ghash-generic ghash-clmulni-intel gcm ctr seqiv echainiv \
         sha512_generic jitterentropy_rng drbg; do
  modprobe "$m" 2>/dev/null || echo "GUEST: modprobe $m failed"
done
sysctl -qw net.ipv6.conf.all.disable_ipv6=0
sysctl -qw net.ipv6.conf.default.accept_dad=0
/sbin/ip link set lo up
/sbin/ip link set eth0 mtu 1500 up
/sbin/ip addr add 192.0.2.2/24 dev eth0
/sbin/ip -6 addr add 2001:db8::2/64 dev eth0 nodad
echo "GUEST: up $(cut -d' ' -f1 /proc/uptime) kernel $(uname -r)"
/bin/kpeer
echo "GUEST: kpeer exited"
poweroff -f
