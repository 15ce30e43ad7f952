/* ipsec3gpp_wire: the small, optional native part of ipsec-3gpp's real wire (Linux only, Node-API).
 *
 * Node has no raw IP sockets and no TUN devices; this addon gives it exactly those and nothing more, in the
 * shape of strongSwan's kernel-libipsec: a TUN device carries the plaintext inner packets between the kernel's
 * own UDP/TCP stack and user space, a raw socket for IP protocol 50 (RFC 4303) carries the ESP packets, and the
 * ESP itself is done by the WASM engine in JavaScript. Everything here is mechanism:
 *   tunOpen / linkSet          create a TUN device (IFF_TUN | IFF_NO_PI), set its MTU and state
 *   rawOpen                    a raw IPv4/IPv6 socket for protocol 50 bound to a local address
 *   readerStart / readerStop   poll an fd in libuv's loop; on readable, read up to N packets into a ring the
 *                              caller owns and call back once with the count (one JS call per batch)
 *   writeFd / sendTo           one packet into the TUN device / one ESP packet to an address
 *   udpOpen / sendToPort       a UDP socket read the same way (UDP-enc-tun at packet rates Node's dgram does
 *                              not reach), each datagram after a 20-octet prefix: family, port, address
 *   sendMany                   a queue of UDP datagrams in one sendmmsg
 *   rule / route               rtnetlink policy-routing rules (from ADDR sport P lookup T) and routes
 *                              (default dev TUN table T), so that only the protected ports reach the TUN
 *   bindToDevice / tcpOpen     SO_BINDTODEVICE on a socket; a TCP socket bound to a local address and port
 *                              and to the TUN device, listening or ready to connect, for Node to adopt (a
 *                              protected TCP socket then only takes segments that came through the TUN,
 *                              that is through an SA the wire accepted)
 *   netnsEnter / netnsLeave    move the calling (main) thread into a network namespace and back, so that
 *                              sockets made in between live there (the demo's two hosts in one process)
 * Raw IPv6 sockets deliver the payload without the IPv6 header: the reader rebuilds a 40-octet header from the
 * source address, IPV6_PKTINFO and IPV6_HOPLIMIT, so JavaScript always sees whole IP packets.
 * Errors are returned as negative errno values (never thrown), so the caller decides what to tell its user. */
#define _GNU_SOURCE
#define NAPI_VERSION 8
#include <node_api.h>
#include <uv.h>

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/fib_rules.h>
#include <linux/if_tun.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#define CHECK(call)                                                   \
  do {                                                                \
    if ((call) != napi_ok) {                                          \
      napi_throw_error(env, "WIRE_NATIVE", "Node-API call failed: " #call); \
      return NULL;                                                    \
    }                                                                 \
  } while (0)

enum { K_READ = 0, K_RAW6 = 1, K_UDP = 2 };
/* K_UDP slots: family (4|6), port (2 octets), address (16 octets, IPv4 in the first 4), one zero, then the datagram */
#define UDP_PREFIX 20

static napi_value num(napi_env env, double v) {
  napi_value r;
  napi_create_double(env, v, &r);
  return r;
}

static int arg_int(napi_env env, napi_value v, int *out) {
  int32_t x;
  if (napi_get_value_int32(env, v, &x) != napi_ok) return -1;
  *out = x;
  return 0;
}

/* A typed-array argument of the given type: pointer and element count. */
static int arg_typed(napi_env env, napi_value v, napi_typedarray_type want, void **data, size_t *len) {
  bool is;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is) return -1;
  napi_typedarray_type t;
  napi_value ab;
  size_t off;
  if (napi_get_typedarray_info(env, v, &t, len, data, &ab, &off) != napi_ok || t != want) return -1;
  return 0;
}

/* A Uint8Array argument: pointer and length. */
static int arg_bytes(napi_env env, napi_value v, uint8_t **data, size_t *len) {
  return arg_typed(env, v, napi_uint8_array, (void **)data, len);
}

#define ARGS(n)                                                       \
  size_t argc = (n);                                                  \
  napi_value argv[(n) > 0 ? (n) : 1];                                 \
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));        \
  if (argc < (n)) {                                                   \
    napi_throw_type_error(env, "WIRE_NATIVE", "missing arguments");   \
    return NULL;                                                      \
  }

#define BAD_ARG(what)                                                 \
  do {                                                                \
    napi_throw_type_error(env, "WIRE_NATIVE", "bad argument: " what); \
    return NULL;                                                      \
  } while (0)

/* ---------- TUN device and link ---------- */

/* tunOpen(name) -> [fd, name] | -errno */
static napi_value tun_open(napi_env env, napi_callback_info info) {
  ARGS(1);
  char name[IFNAMSIZ] = {0};
  size_t n;
  if (napi_get_value_string_utf8(env, argv[0], name, sizeof name, &n) != napi_ok) BAD_ARG("name");
  int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return num(env, -errno);
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
  memcpy(ifr.ifr_name, name, strnlen(name, IFNAMSIZ - 1));
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
    int e = errno;
    close(fd);
    return num(env, -e);
  }
  napi_value out, v;
  CHECK(napi_create_array_with_length(env, 2, &out));
  CHECK(napi_set_element(env, out, 0, num(env, fd)));
  CHECK(napi_create_string_utf8(env, ifr.ifr_name, NAPI_AUTO_LENGTH, &v));
  CHECK(napi_set_element(env, out, 1, v));
  return out;
}

/* linkSet(name, mtu (0 = unchanged), up) -> ifindex | -errno */
static napi_value link_set(napi_env env, napi_callback_info info) {
  ARGS(3);
  char name[IFNAMSIZ] = {0};
  size_t n;
  int mtu;
  bool up;
  if (napi_get_value_string_utf8(env, argv[0], name, sizeof name, &n) != napi_ok) BAD_ARG("name");
  if (arg_int(env, argv[1], &mtu)) BAD_ARG("mtu");
  if (napi_get_value_bool(env, argv[2], &up) != napi_ok) BAD_ARG("up");
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return num(env, -errno);
  struct ifreq ifr;
  int rc = 0;
  memset(&ifr, 0, sizeof ifr);
  memcpy(ifr.ifr_name, name, strnlen(name, IFNAMSIZ - 1));
  if (mtu > 0) {
    ifr.ifr_mtu = mtu;
    if (ioctl(s, SIOCSIFMTU, &ifr) < 0) rc = -errno;
  }
  if (!rc && ioctl(s, SIOCGIFFLAGS, &ifr) < 0) rc = -errno;
  if (!rc) {
    if (up) ifr.ifr_flags |= IFF_UP;
    else ifr.ifr_flags &= ~IFF_UP;
    if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0) rc = -errno;
  }
  if (!rc && ioctl(s, SIOCGIFINDEX, &ifr) < 0) rc = -errno;
  if (!rc) rc = ifr.ifr_ifindex;
  close(s);
  return num(env, rc);
}

/* ---------- raw ESP sockets ---------- */

/* rawOpen(family 4|6, local address bytes (4|16) or zero-length for any) -> fd | -errno */
static napi_value raw_open(napi_env env, napi_callback_info info) {
  ARGS(2);
  int family;
  uint8_t *addr;
  size_t alen;
  if (arg_int(env, argv[0], &family) || (family != 4 && family != 6)) BAD_ARG("family");
  if (arg_bytes(env, argv[1], &addr, &alen) || (alen != 0 && alen != (family == 4 ? 4u : 16u))) BAD_ARG("address");
  int af = family == 4 ? AF_INET : AF_INET6;
  int fd = socket(af, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_ESP);
  if (fd < 0) return num(env, -errno);
  int one = 1, rcv = 4 << 20, rc = 0;
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof rcv) < 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
  if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &rcv, sizeof rcv) < 0) setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &rcv, sizeof rcv);
  if (family == 4) {
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    if (alen) memcpy(&a.sin_addr, addr, 4);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0) rc = -errno;
  } else {
    struct sockaddr_in6 a;
    memset(&a, 0, sizeof a);
    a.sin6_family = AF_INET6;
    if (alen) memcpy(&a.sin6_addr, addr, 16);
    if (setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof one) < 0) rc = -errno;
    if (!rc && setsockopt(fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, &one, sizeof one) < 0) rc = -errno;
    if (!rc && bind(fd, (struct sockaddr *)&a, sizeof a) < 0) rc = -errno;
  }
  if (rc) {
    close(fd);
    return num(env, rc);
  }
  return num(env, fd);
}

/* sendTo(fd, family, dst bytes, packet) -> bytes sent | -errno */
static napi_value send_to(napi_env env, napi_callback_info info) {
  ARGS(4);
  int fd, family;
  uint8_t *dst, *data;
  size_t dlen, len;
  if (arg_int(env, argv[0], &fd)) BAD_ARG("fd");
  if (arg_int(env, argv[1], &family) || (family != 4 && family != 6)) BAD_ARG("family");
  if (arg_bytes(env, argv[2], &dst, &dlen) || dlen != (family == 4 ? 4u : 16u)) BAD_ARG("dst");
  if (arg_bytes(env, argv[3], &data, &len)) BAD_ARG("packet");
  ssize_t n;
  if (family == 4) {
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    memcpy(&a.sin_addr, dst, 4);
    n = sendto(fd, data, len, 0, (struct sockaddr *)&a, sizeof a);
  } else {
    struct sockaddr_in6 a;
    memset(&a, 0, sizeof a);
    a.sin6_family = AF_INET6;
    memcpy(&a.sin6_addr, dst, 16);
    n = sendto(fd, data, len, 0, (struct sockaddr *)&a, sizeof a);
  }
  return num(env, n < 0 ? -errno : (double)n);
}

/* udpOpen(family, local address bytes, port) -> fd | -errno: a UDP socket (IPv6 ones IPv6-only) */
static napi_value udp_open(napi_env env, napi_callback_info info) {
  ARGS(3);
  int family, port;
  uint8_t *addr;
  size_t alen;
  if (arg_int(env, argv[0], &family) || (family != 4 && family != 6)) BAD_ARG("family");
  if (arg_bytes(env, argv[1], &addr, &alen) || alen != (family == 4 ? 4u : 16u)) BAD_ARG("address");
  if (arg_int(env, argv[2], &port) || port < 0 || port > 65535) BAD_ARG("port");
  int fd = socket(family == 4 ? AF_INET : AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return num(env, -errno);
  int one = 1, big = 4 << 20, rc = 0;
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big) < 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
  if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof big) < 0) setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
  if (family == 4) {
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    memcpy(&a.sin_addr, addr, 4);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0) rc = -errno;
  } else {
    struct sockaddr_in6 a;
    memset(&a, 0, sizeof a);
    a.sin6_family = AF_INET6;
    a.sin6_port = htons((uint16_t)port);
    memcpy(&a.sin6_addr, addr, 16);
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0) rc = -errno;
  }
  if (rc) {
    close(fd);
    return num(env, rc);
  }
  return num(env, fd);
}

/* tcpOpen(family, local address bytes, port, ifname, listen) -> fd | -errno: a non-blocking TCP socket with
 * SO_REUSEADDR and SO_BINDTODEVICE(ifname), bound, and listening when `listen` (IPv6 ones IPv6-only) */
static napi_value tcp_open(napi_env env, napi_callback_info info) {
  ARGS(5);
  int family, port;
  uint8_t *addr;
  size_t alen, n = 0;
  char name[IFNAMSIZ];
  bool listen_it = false;
  if (arg_int(env, argv[0], &family) || (family != 4 && family != 6)) BAD_ARG("family");
  if (arg_bytes(env, argv[1], &addr, &alen) || alen != (family == 4 ? 4u : 16u)) BAD_ARG("address");
  if (arg_int(env, argv[2], &port) || port < 0 || port > 65535) BAD_ARG("port");
  if (napi_get_value_string_utf8(env, argv[3], name, sizeof name, &n) != napi_ok || n >= IFNAMSIZ) BAD_ARG("ifname");
  if (napi_get_value_bool(env, argv[4], &listen_it) != napi_ok) BAD_ARG("listen");
  int fd = socket(family == 4 ? AF_INET : AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return num(env, -errno);
  int one = 1, rc = 0;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (n > 0 && setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, name, (socklen_t)(n + 1)) < 0) rc = -errno;
  if (!rc && family == 4) {
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    memcpy(&a.sin_addr, addr, 4);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0) rc = -errno;
  } else if (!rc) {
    struct sockaddr_in6 a;
    memset(&a, 0, sizeof a);
    a.sin6_family = AF_INET6;
    a.sin6_port = htons((uint16_t)port);
    memcpy(&a.sin6_addr, addr, 16);
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0) rc = -errno;
  }
  if (!rc && listen_it && listen(fd, 128) < 0) rc = -errno;
  if (rc) {
    close(fd);
    return num(env, rc);
  }
  return num(env, fd);
}

/* netnsEnter(path) -> fd of the namespace left (for netnsLeave) | -errno */
static napi_value netns_enter(napi_env env, napi_callback_info info) {
  ARGS(1);
  char path[256];
  size_t n = 0;
  if (napi_get_value_string_utf8(env, argv[0], path, sizeof path, &n) != napi_ok || n == 0 || n >= sizeof path - 1) BAD_ARG("path");
  int saved = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (saved < 0) return num(env, -errno);
  int target = open(path, O_RDONLY | O_CLOEXEC);
  if (target < 0) {
    int e = errno;
    close(saved);
    return num(env, -e);
  }
  int rc = setns(target, CLONE_NEWNET) < 0 ? -errno : 0;
  close(target);
  if (rc) {
    close(saved);
    return num(env, rc);
  }
  return num(env, saved);
}

/* netnsLeave(saved) -> 0 | -errno: back to the namespace netnsEnter left */
static napi_value netns_leave(napi_env env, napi_callback_info info) {
  ARGS(1);
  int saved;
  if (arg_int(env, argv[0], &saved)) BAD_ARG("fd");
  int rc = setns(saved, CLONE_NEWNET) < 0 ? -errno : 0;
  close(saved);
  return num(env, rc);
}

/* localPort(fd) -> the bound port | -errno */
static napi_value local_port(napi_env env, napi_callback_info info) {
  ARGS(1);
  int fd;
  if (arg_int(env, argv[0], &fd)) BAD_ARG("fd");
  struct sockaddr_storage ss;
  socklen_t l = sizeof ss;
  if (getsockname(fd, (struct sockaddr *)&ss, &l) < 0) return num(env, -errno);
  if (ss.ss_family == AF_INET) return num(env, ntohs(((struct sockaddr_in *)&ss)->sin_port));
  return num(env, ntohs(((struct sockaddr_in6 *)&ss)->sin6_port));
}

/* sendToPort(fd, family, dst bytes, port, payload) -> bytes sent | -errno (UDP) */
static napi_value send_to_port(napi_env env, napi_callback_info info) {
  ARGS(5);
  int fd, family, port;
  uint8_t *dst, *data;
  size_t dlen, len;
  if (arg_int(env, argv[0], &fd)) BAD_ARG("fd");
  if (arg_int(env, argv[1], &family) || (family != 4 && family != 6)) BAD_ARG("family");
  if (arg_bytes(env, argv[2], &dst, &dlen) || dlen != (family == 4 ? 4u : 16u)) BAD_ARG("dst");
  if (arg_int(env, argv[3], &port) || port < 1 || port > 65535) BAD_ARG("port");
  if (arg_bytes(env, argv[4], &data, &len)) BAD_ARG("payload");
  ssize_t n;
  if (family == 4) {
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    memcpy(&a.sin_addr, dst, 4);
    n = sendto(fd, data, len, 0, (struct sockaddr *)&a, sizeof a);
  } else {
    struct sockaddr_in6 a;
    memset(&a, 0, sizeof a);
    a.sin6_family = AF_INET6;
    a.sin6_port = htons((uint16_t)port);
    memcpy(&a.sin6_addr, dst, 16);
    n = sendto(fd, data, len, 0, (struct sockaddr *)&a, sizeof a);
  }
  return num(env, n < 0 ? -errno : (double)n);
}

/* An Int32Array argument: pointer and element count. */
static int arg_i32s(napi_env env, napi_value v, int32_t **data, size_t *len) {
  return arg_typed(env, v, napi_int32_array, (void **)data, len);
}

#define SEND_MANY_MAX 64

/* sendMany(fd, family, data, meta Int32Array, addrs, from, count) -> datagrams sent | -errno (UDP, sendmmsg):
 * datagrams from..count-1 of a queue, datagram i being data[meta[3i], meta[3i] + meta[3i+1]) to port meta[3i+2]
 * at the address addrs[16i, 16i + 4 or 16). At most SEND_MANY_MAX per call; -errno when the first is refused
 * (the caller counts it and goes on after it), else how many went (the kernel stops at the first refusal). */
static napi_value send_many(napi_env env, napi_callback_info info) {
  ARGS(7);
  int fd, family, from, count;
  uint8_t *data, *addrs;
  size_t dlen, alen, mlen;
  int32_t *meta;
  if (arg_int(env, argv[0], &fd)) BAD_ARG("fd");
  if (arg_int(env, argv[1], &family) || (family != 4 && family != 6)) BAD_ARG("family");
  if (arg_bytes(env, argv[2], &data, &dlen)) BAD_ARG("data");
  if (arg_i32s(env, argv[3], &meta, &mlen)) BAD_ARG("meta");
  if (arg_bytes(env, argv[4], &addrs, &alen)) BAD_ARG("addrs");
  if (arg_int(env, argv[5], &from) || from < 0) BAD_ARG("from");
  if (arg_int(env, argv[6], &count) || count < from || (size_t)count * 3 > mlen || (size_t)count * 16 > alen) BAD_ARG("count");
  if (count - from > SEND_MANY_MAX) count = from + SEND_MANY_MAX;
  int k = count - from;
  if (k == 0) return num(env, 0);
  struct mmsghdr mm[SEND_MANY_MAX];
  struct iovec iov[SEND_MANY_MAX];
  union { struct sockaddr_in a4; struct sockaddr_in6 a6; } sa[SEND_MANY_MAX];
  memset(mm, 0, sizeof(struct mmsghdr) * (size_t)k);
  memset(sa, 0, sizeof sa[0] * (size_t)k);
  for (int j = 0; j < k; j++) {
    int i = from + j;
    int32_t off = meta[3 * i], len = meta[3 * i + 1], port = meta[3 * i + 2];
    if (off < 0 || len < 0 || (size_t)off + (size_t)len > dlen) BAD_ARG("meta: a datagram outside data");
    if (port < 1 || port > 65535) BAD_ARG("meta: port");
    iov[j].iov_base = data + off;
    iov[j].iov_len = (size_t)len;
    mm[j].msg_hdr.msg_iov = &iov[j];
    mm[j].msg_hdr.msg_iovlen = 1;
    if (family == 4) {
      sa[j].a4.sin_family = AF_INET;
      sa[j].a4.sin_port = htons((uint16_t)port);
      memcpy(&sa[j].a4.sin_addr, addrs + 16 * i, 4);
      mm[j].msg_hdr.msg_namelen = sizeof sa[j].a4;
    } else {
      sa[j].a6.sin6_family = AF_INET6;
      sa[j].a6.sin6_port = htons((uint16_t)port);
      memcpy(&sa[j].a6.sin6_addr, addrs + 16 * i, 16);
      mm[j].msg_hdr.msg_namelen = sizeof sa[j].a6;
    }
    mm[j].msg_hdr.msg_name = &sa[j];
  }
  int n;
  do n = sendmmsg(fd, mm, (unsigned)k, 0);
  while (n < 0 && errno == EINTR);
  return num(env, n < 0 ? -errno : n);
}

/* writeFd(fd, packet) -> bytes written | -errno */
static napi_value write_fd(napi_env env, napi_callback_info info) {
  ARGS(2);
  int fd;
  uint8_t *data;
  size_t len;
  if (arg_int(env, argv[0], &fd)) BAD_ARG("fd");
  if (arg_bytes(env, argv[1], &data, &len)) BAD_ARG("packet");
  ssize_t n = write(fd, data, len);
  return num(env, n < 0 ? -errno : (double)n);
}

/* bindToDevice(fd, ifname) -> 0 | -errno */
static napi_value bind_to_device(napi_env env, napi_callback_info info) {
  ARGS(2);
  int fd;
  char name[IFNAMSIZ];
  size_t n = 0;
  if (arg_int(env, argv[0], &fd)) BAD_ARG("fd");
  if (napi_get_value_string_utf8(env, argv[1], name, sizeof name, &n) != napi_ok || n == 0 || n >= IFNAMSIZ) BAD_ARG("ifname");
  return num(env, setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, name, (socklen_t)(n + 1)) < 0 ? -errno : 0);
}

/* closeFd(fd) -> 0 | -errno */
static napi_value close_fd(napi_env env, napi_callback_info info) {
  ARGS(1);
  int fd;
  if (arg_int(env, argv[0], &fd)) BAD_ARG("fd");
  return num(env, close(fd) < 0 ? -errno : 0);
}

/* ---------- reader: libuv poll + batch read into a caller-owned ring ---------- */

typedef struct {
  uv_poll_t poll;
  napi_env env;
  napi_ref cb;
  napi_ref ring_ref;
  napi_ref lens_ref;
  napi_ref resource;
  napi_async_context actx;
  uint8_t *ring;
  int32_t *lens;
  size_t slot;
  int max;
  int kind;
  int fd;
  int stopped;
  double errors;
  int last_errno;
  struct reader_box *box; /* the JS handle, cleared when either side goes first */
} reader_t;

typedef struct reader_box {
  reader_t *r;
} reader_box;

static ssize_t recv_raw6(int fd, uint8_t *out, size_t cap) {
  struct sockaddr_in6 from;
  char cbuf[CMSG_SPACE(sizeof(struct in6_pktinfo)) + CMSG_SPACE(sizeof(int)) + 64];
  struct iovec iov = {out + 40, cap - 40};
  struct msghdr m;
  memset(&m, 0, sizeof m);
  memset(&from, 0, sizeof from);
  m.msg_name = &from;
  m.msg_namelen = sizeof from;
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  m.msg_control = cbuf;
  m.msg_controllen = sizeof cbuf;
  ssize_t n = recvmsg(fd, &m, 0);
  if (n < 0) return -1;
  if (n > 65535 || (m.msg_flags & MSG_TRUNC)) {
    errno = EMSGSIZE;
    return -2;
  }
  struct in6_addr dst = IN6ADDR_ANY_INIT;
  int hop = 0;
  for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
    if (c->cmsg_level != IPPROTO_IPV6) continue;
    if (c->cmsg_type == IPV6_PKTINFO) dst = ((struct in6_pktinfo *)CMSG_DATA(c))->ipi6_addr;
    else if (c->cmsg_type == IPV6_HOPLIMIT) memcpy(&hop, CMSG_DATA(c), sizeof hop);
  }
  out[0] = 0x60;
  out[1] = out[2] = out[3] = 0;
  out[4] = (uint8_t)(n >> 8);
  out[5] = (uint8_t)n;
  out[6] = IPPROTO_ESP;
  out[7] = (uint8_t)hop;
  memcpy(out + 8, &from.sin6_addr, 16);
  memcpy(out + 24, &dst, 16);
  return n + 40;
}

static ssize_t recv_udp(int fd, uint8_t *out, size_t cap) {
  struct sockaddr_storage from;
  socklen_t fl = sizeof from;
  ssize_t n = recvfrom(fd, out + UDP_PREFIX, cap - UDP_PREFIX, MSG_TRUNC, (struct sockaddr *)&from, &fl);
  if (n < 0) return -1;
  if ((size_t)n > cap - UDP_PREFIX) {
    errno = EMSGSIZE;
    return -2;
  }
  memset(out, 0, UDP_PREFIX);
  if (from.ss_family == AF_INET) {
    struct sockaddr_in *a = (struct sockaddr_in *)&from;
    out[0] = 4;
    memcpy(out + 1, &a->sin_port, 2);
    memcpy(out + 3, &a->sin_addr, 4);
  } else {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)&from;
    out[0] = 6;
    memcpy(out + 1, &a->sin6_port, 2);
    memcpy(out + 3, &a->sin6_addr, 16);
  }
  return n + UDP_PREFIX;
}

static void on_poll(uv_poll_t *h, int status, int events) {
  reader_t *r = h->data;
  if (r->stopped) return;
  if (status < 0) {
    r->errors++;
    r->last_errno = -status;
    return;
  }
  int n = 0;
  while (n < r->max) {
    uint8_t *dst = r->ring + (size_t)n * r->slot;
    ssize_t len = r->kind == K_RAW6 ? recv_raw6(r->fd, dst, r->slot) : r->kind == K_UDP ? recv_udp(r->fd, dst, r->slot) : read(r->fd, dst, r->slot);
    if (len == -2) { /* oversized: consumed and dropped */
      r->errors++;
      r->last_errno = EMSGSIZE;
      continue;
    }
    if (len < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) {
        r->errors++;
        r->last_errno = errno;
        if (errno == EBADF || errno == ENOTSOCK || errno == EBADFD) {
          r->stopped = 1;
          uv_poll_stop(&r->poll);
        }
      }
      break;
    }
    r->lens[n++] = (int32_t)len;
  }
  if (n == 0) return;
  napi_env env = r->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value cb, recv, resource, arg, res;
  napi_get_reference_value(env, r->cb, &cb);
  napi_get_reference_value(env, r->resource, &resource);
  napi_get_undefined(env, &recv);
  napi_create_int32(env, n, &arg);
  if (napi_make_callback(env, r->actx, resource, cb, 1, &arg, &res) == napi_pending_exception) {
    napi_value exc;
    napi_get_and_clear_last_exception(env, &exc);
    napi_fatal_exception(env, exc);
  }
  napi_close_handle_scope(env, scope);
}

static void on_close(uv_handle_t *h) {
  reader_t *r = h->data;
  napi_env env = r->env;
  if (r->box) r->box->r = NULL;
  napi_delete_reference(env, r->cb);
  napi_delete_reference(env, r->ring_ref);
  napi_delete_reference(env, r->lens_ref);
  napi_delete_reference(env, r->resource);
  napi_async_destroy(env, r->actx);
  free(r);
}

static void box_finalize(napi_env env, void *data, void *hint) {
  reader_box *box = data;
  if (box->r) box->r->box = NULL;
  free(box);
}

/* readerStart(fd, kind 0 read | 1 raw6 | 2 udp, ring Uint8Array, slot, lengths Int32Array, callback(count)) -> handle | -errno */
static napi_value reader_start(napi_env env, napi_callback_info info) {
  ARGS(6);
  int fd, kind, slot;
  uint8_t *ring;
  size_t ring_len;
  if (arg_int(env, argv[0], &fd) || fd < 0) BAD_ARG("fd");
  if (arg_int(env, argv[1], &kind) || (kind != K_READ && kind != K_RAW6 && kind != K_UDP)) BAD_ARG("kind");
  if (arg_bytes(env, argv[2], &ring, &ring_len)) BAD_ARG("ring");
  if (arg_int(env, argv[3], &slot) || slot < 128 || (size_t)slot > ring_len) BAD_ARG("slot");
  bool is;
  napi_typedarray_type t;
  size_t nlens, off;
  void *lens;
  napi_value ab;
  if (napi_is_typedarray(env, argv[4], &is) != napi_ok || !is) BAD_ARG("lengths");
  if (napi_get_typedarray_info(env, argv[4], &t, &nlens, &lens, &ab, &off) != napi_ok || t != napi_int32_array) BAD_ARG("lengths");
  napi_valuetype vt;
  if (napi_typeof(env, argv[5], &vt) != napi_ok || vt != napi_function) BAD_ARG("callback");
  size_t max = ring_len / (size_t)slot;
  if (nlens < max) max = nlens;
  if (max < 1) BAD_ARG("ring too small");
  uv_loop_t *loop;
  CHECK(napi_get_uv_event_loop(env, &loop));
  reader_t *r = calloc(1, sizeof *r);
  if (!r) return num(env, -ENOMEM);
  r->env = env;
  r->fd = fd;
  r->kind = kind;
  r->ring = ring;
  r->lens = lens;
  r->slot = (size_t)slot;
  r->max = (int)max;
  int rc = uv_poll_init(loop, &r->poll, fd);
  if (rc < 0) {
    free(r);
    return num(env, rc);
  }
  r->poll.data = r;
  napi_value resource, name;
  CHECK(napi_create_object(env, &resource));
  CHECK(napi_create_string_utf8(env, "ipsec3gpp:wire-reader", NAPI_AUTO_LENGTH, &name));
  CHECK(napi_async_init(env, resource, name, &r->actx));
  CHECK(napi_create_reference(env, resource, 1, &r->resource));
  CHECK(napi_create_reference(env, argv[5], 1, &r->cb));
  CHECK(napi_create_reference(env, argv[2], 1, &r->ring_ref));
  CHECK(napi_create_reference(env, argv[4], 1, &r->lens_ref));
  rc = uv_poll_start(&r->poll, UV_READABLE, on_poll);
  if (rc < 0) {
    r->stopped = 1;
    uv_close((uv_handle_t *)&r->poll, on_close);
    return num(env, rc);
  }
  reader_box *box = malloc(sizeof *box);
  if (!box) return num(env, -ENOMEM); /* the poll stays running; unreachable in practice */
  box->r = r;
  r->box = box;
  napi_value ext;
  CHECK(napi_create_external(env, box, box_finalize, NULL, &ext));
  return ext;
}

/* NULL for a handle whose reader was stopped (or for anything else). */
static reader_t *arg_reader(napi_env env, napi_value v) {
  napi_valuetype vt;
  void *p = NULL;
  if (napi_typeof(env, v, &vt) != napi_ok || vt != napi_external) return NULL;
  if (napi_get_value_external(env, v, &p) != napi_ok || !p) return NULL;
  return ((reader_box *)p)->r;
}

/* readerStop(handle): stops polling and frees the reader (the fd stays open: close it after). */
static napi_value reader_stop(napi_env env, napi_callback_info info) {
  ARGS(1);
  reader_t *r = arg_reader(env, argv[0]);
  if (!r) return num(env, 0);
  if (!uv_is_closing((uv_handle_t *)&r->poll)) {
    r->stopped = 1;
    uv_poll_stop(&r->poll);
    uv_close((uv_handle_t *)&r->poll, on_close);
  }
  return num(env, 0);
}

/* readerRef(handle, ref): whether the reader keeps the event loop alive. */
static napi_value reader_ref(napi_env env, napi_callback_info info) {
  ARGS(2);
  reader_t *r = arg_reader(env, argv[0]);
  bool ref;
  if (!r) return num(env, 0);
  if (napi_get_value_bool(env, argv[1], &ref) != napi_ok) BAD_ARG("ref");
  if (!uv_is_closing((uv_handle_t *)&r->poll)) {
    if (ref) uv_ref((uv_handle_t *)&r->poll);
    else uv_unref((uv_handle_t *)&r->poll);
  }
  return num(env, 0);
}

/* readerErrors(handle) -> [count, last errno] */
static napi_value reader_errors(napi_env env, napi_callback_info info) {
  ARGS(1);
  reader_t *r = arg_reader(env, argv[0]);
  napi_value out;
  CHECK(napi_create_array_with_length(env, 2, &out));
  CHECK(napi_set_element(env, out, 0, num(env, r ? r->errors : 0)));
  CHECK(napi_set_element(env, out, 1, num(env, r ? r->last_errno : 0)));
  return out;
}

/* ---------- rtnetlink: policy-routing rules and routes ---------- */

static int nl_attr(void *msg, size_t max, int type, const void *data, size_t len) {
  struct nlmsghdr *n = msg;
  size_t alen = RTA_LENGTH(len);
  if (NLMSG_ALIGN(n->nlmsg_len) + RTA_ALIGN(alen) > max) return -1;
  struct rtattr *a = (struct rtattr *)((char *)n + NLMSG_ALIGN(n->nlmsg_len));
  a->rta_type = (unsigned short)type;
  a->rta_len = (unsigned short)alen;
  if (len) memcpy(RTA_DATA(a), data, len);
  n->nlmsg_len = NLMSG_ALIGN(n->nlmsg_len) + RTA_ALIGN(alen);
  return 0;
}

static int nl_talk(struct nlmsghdr *n) {
  static uint32_t seq = 0;
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) return -errno;
  struct timeval tv = {2, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  struct sockaddr_nl sa;
  memset(&sa, 0, sizeof sa);
  sa.nl_family = AF_NETLINK;
  n->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
  n->nlmsg_seq = ++seq;
  if (sendto(fd, n, n->nlmsg_len, 0, (struct sockaddr *)&sa, sizeof sa) < 0) {
    int e = errno;
    close(fd);
    return -e;
  }
  char buf[8192];
  for (;;) {
    ssize_t len = recv(fd, buf, sizeof buf, 0);
    if (len < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      close(fd);
      return -e;
    }
    int left = (int)len;
    for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
      if (h->nlmsg_seq != n->nlmsg_seq) continue;
      if (h->nlmsg_type == NLMSG_ERROR) {
        int e = ((struct nlmsgerr *)NLMSG_DATA(h))->error;
        close(fd);
        return e;
      }
    }
  }
}

/* rule(add, family, src bytes (0-length: any), sport (0: any), table, priority) -> 0 | -errno */
static napi_value nl_rule(napi_env env, napi_callback_info info) {
  ARGS(6);
  bool add;
  int family, sport, table, prio;
  uint8_t *src;
  size_t slen;
  if (napi_get_value_bool(env, argv[0], &add) != napi_ok) BAD_ARG("add");
  if (arg_int(env, argv[1], &family) || (family != 4 && family != 6)) BAD_ARG("family");
  if (arg_bytes(env, argv[2], &src, &slen) || (slen && slen != (family == 4 ? 4u : 16u))) BAD_ARG("src");
  if (arg_int(env, argv[3], &sport) || sport < 0 || sport > 65535) BAD_ARG("sport");
  if (arg_int(env, argv[4], &table) || table <= 0) BAD_ARG("table");
  if (arg_int(env, argv[5], &prio) || prio < 0) BAD_ARG("priority");
  struct {
    struct nlmsghdr n;
    struct fib_rule_hdr f;
    char attrs[256];
  } req;
  memset(&req, 0, sizeof req);
  req.n.nlmsg_len = NLMSG_LENGTH(sizeof(struct fib_rule_hdr));
  req.n.nlmsg_type = add ? RTM_NEWRULE : RTM_DELRULE;
  req.n.nlmsg_flags = add ? (NLM_F_CREATE | NLM_F_EXCL) : 0;
  req.f.family = family == 4 ? AF_INET : AF_INET6;
  req.f.action = FR_ACT_TO_TBL;
  req.f.table = table < 256 ? (uint8_t)table : RT_TABLE_UNSPEC;
  uint32_t t32 = (uint32_t)table, p32 = (uint32_t)prio;
  int bad = 0;
  if (slen) {
    req.f.src_len = (uint8_t)(slen * 8);
    bad |= nl_attr(&req, sizeof req, FRA_SRC, src, slen);
  }
  if (sport) {
    struct fib_rule_port_range pr = {(uint16_t)sport, (uint16_t)sport};
    bad |= nl_attr(&req, sizeof req, FRA_SPORT_RANGE, &pr, sizeof pr);
  }
  bad |= nl_attr(&req, sizeof req, FRA_TABLE, &t32, sizeof t32);
  bad |= nl_attr(&req, sizeof req, FRA_PRIORITY, &p32, sizeof p32);
  if (bad) return num(env, -EMSGSIZE);
  return num(env, nl_talk(&req.n));
}

/* route(add, family, table, ifindex) -> 0 | -errno: "default dev IFINDEX table TABLE" */
static napi_value nl_route(napi_env env, napi_callback_info info) {
  ARGS(4);
  bool add;
  int family, table, ifindex;
  if (napi_get_value_bool(env, argv[0], &add) != napi_ok) BAD_ARG("add");
  if (arg_int(env, argv[1], &family) || (family != 4 && family != 6)) BAD_ARG("family");
  if (arg_int(env, argv[2], &table) || table <= 0) BAD_ARG("table");
  if (arg_int(env, argv[3], &ifindex) || ifindex <= 0) BAD_ARG("ifindex");
  struct {
    struct nlmsghdr n;
    struct rtmsg r;
    char attrs[128];
  } req;
  memset(&req, 0, sizeof req);
  req.n.nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg));
  req.n.nlmsg_type = add ? RTM_NEWROUTE : RTM_DELROUTE;
  req.n.nlmsg_flags = add ? (NLM_F_CREATE | NLM_F_REPLACE) : 0;
  req.r.rtm_family = family == 4 ? AF_INET : AF_INET6;
  req.r.rtm_table = table < 256 ? (uint8_t)table : RT_TABLE_UNSPEC;
  req.r.rtm_protocol = RTPROT_STATIC;
  req.r.rtm_scope = family == 4 ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE;
  req.r.rtm_type = RTN_UNICAST;
  uint32_t t32 = (uint32_t)table, oif = (uint32_t)ifindex;
  if (nl_attr(&req, sizeof req, RTA_TABLE, &t32, sizeof t32) || nl_attr(&req, sizeof req, RTA_OIF, &oif, sizeof oif)) return num(env, -EMSGSIZE);
  return num(env, nl_talk(&req.n));
}

/* ---------- module ---------- */

static napi_value init(napi_env env, napi_value exports) {
  const napi_property_descriptor p[] = {
      {"tunOpen", NULL, tun_open, NULL, NULL, NULL, napi_default, NULL},
      {"linkSet", NULL, link_set, NULL, NULL, NULL, napi_default, NULL},
      {"rawOpen", NULL, raw_open, NULL, NULL, NULL, napi_default, NULL},
      {"sendTo", NULL, send_to, NULL, NULL, NULL, napi_default, NULL},
      {"writeFd", NULL, write_fd, NULL, NULL, NULL, napi_default, NULL},
      {"udpOpen", NULL, udp_open, NULL, NULL, NULL, napi_default, NULL},
      {"localPort", NULL, local_port, NULL, NULL, NULL, napi_default, NULL},
      {"sendToPort", NULL, send_to_port, NULL, NULL, NULL, napi_default, NULL},
      {"sendMany", NULL, send_many, NULL, NULL, NULL, napi_default, NULL},
      {"closeFd", NULL, close_fd, NULL, NULL, NULL, napi_default, NULL},
      {"readerStart", NULL, reader_start, NULL, NULL, NULL, napi_default, NULL},
      {"readerStop", NULL, reader_stop, NULL, NULL, NULL, napi_default, NULL},
      {"readerRef", NULL, reader_ref, NULL, NULL, NULL, napi_default, NULL},
      {"readerErrors", NULL, reader_errors, NULL, NULL, NULL, napi_default, NULL},
      {"rule", NULL, nl_rule, NULL, NULL, NULL, napi_default, NULL},
      {"route", NULL, nl_route, NULL, NULL, NULL, napi_default, NULL},
      {"bindToDevice", NULL, bind_to_device, NULL, NULL, NULL, napi_default, NULL},
      {"tcpOpen", NULL, tcp_open, NULL, NULL, NULL, napi_default, NULL},
      {"netnsEnter", NULL, netns_enter, NULL, NULL, NULL, napi_default, NULL},
      {"netnsLeave", NULL, netns_leave, NULL, NULL, NULL, napi_default, NULL},
  };
  if (napi_define_properties(env, exports, sizeof p / sizeof p[0], p) != napi_ok) return NULL;
  napi_value v;
  napi_create_int32(env, 2, &v);
  napi_set_named_property(env, exports, "abi", v);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
