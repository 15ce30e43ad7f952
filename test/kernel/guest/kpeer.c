/* kpeer: the kernel-XFRM peer's agent inside the test guest (a static binary run by /init).
 *
 * It listens on TCP 7000 of the guest's network interface and serves one controller at a time, line by
 * line; every answer ends with a line "." (after "ok", "err ..." or data lines):
 *   sh CMD             run CMD with /bin/sh; "out LINE" per output line, then "rc N"
 *   bind PORT          a dual-stack UDP socket on [::]:PORT (the kernel socket of a protected port)
 *   encap PORT         UDP sockets on 0.0.0.0:PORT and [::]:PORT with UDP_ENCAP_ESPINUDP (RFC 3948)
 *   unbind             close every socket made by bind/encap
 *   send SPORT DST DPORT HEX    one datagram from the socket bound to SPORT (or an unbound one)
 *   recv N MS          wait until N datagrams arrived on bound sockets or MS ms passed: "rx SRC SPORT DPORT HEX"
 *   stat               /proc/net/xfrm_stat as "stat NAME VALUE"
 *   quit               answer, then power the guest off
 * Addresses are IPv4 or IPv6 text. Nothing here is trusted input from the network but the controller, which
 * is the test on the other end of the guest's only link. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <linux/udp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef SOL_UDP
#define SOL_UDP 17
#endif

#define MAXS 64
static int sock[MAXS], sport[MAXS], nsock;
static FILE *io;
static unsigned char buf[70000];

static long long now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void hexout(const unsigned char *b, size_t n) {
  static const char d[] = "0123456789abcdef";
  for (size_t i = 0; i < n; i++) { fputc(d[b[i] >> 4], io); fputc(d[b[i] & 15], io); }
}

static int hexin(const char *h, unsigned char *b, size_t max) {
  size_t n = 0;
  if (!strcmp(h, "-")) return 0;
  while (h[0] && h[1] && n < max) {
    unsigned v;
    if (sscanf(h, "%2x", &v) != 1) return -1;
    b[n++] = (unsigned char)v;
    h += 2;
  }
  return (int)n;
}

/* Text address -> sockaddr_in6 (IPv4 as ::ffff:a.b.c.d for the dual-stack sockets). */
static int to6(const char *s, int port, struct sockaddr_in6 *a) {
  memset(a, 0, sizeof *a);
  a->sin6_family = AF_INET6;
  a->sin6_port = htons((unsigned short)port);
  if (strchr(s, ':')) return inet_pton(AF_INET6, s, &a->sin6_addr) == 1 ? 0 : -1;
  struct in_addr v4;
  if (inet_pton(AF_INET, s, &v4) != 1) return -1;
  a->sin6_addr.s6_addr[10] = 0xff;
  a->sin6_addr.s6_addr[11] = 0xff;
  memcpy(&a->sin6_addr.s6_addr[12], &v4, 4);
  return 0;
}

static int udp_dual(int port) {
  int s = socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK, 0), zero = 0, one = 1, big = 4 << 20;
  setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
  setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  setsockopt(s, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big);
  struct sockaddr_in6 a;
  memset(&a, 0, sizeof a);
  a.sin6_family = AF_INET6;
  a.sin6_port = htons((unsigned short)port);
  if (bind(s, (struct sockaddr *)&a, sizeof a) < 0) { close(s); return -1; }
  return s;
}

static void add(int s, int port) {
  if (nsock < MAXS) { sock[nsock] = s; sport[nsock++] = port; }
  else close(s);
}

static void cmd_sh(const char *arg) {
  char full[8192];
  snprintf(full, sizeof full, "( %s ) 2>&1", arg);
  fflush(io);
  FILE *p = popen(full, "r");
  int rc = -1;
  if (p) {
    char line[4096];
    while (fgets(line, sizeof line, p)) { line[strcspn(line, "\n")] = 0; fprintf(io, "out %s\n", line); }
    rc = pclose(p);
  }
  fprintf(io, "rc %d\n", WIFEXITED(rc) ? WEXITSTATUS(rc) : 128);
}

static void cmd_encap(int port) {
  int type = UDP_ENCAP_ESPINUDP, one = 1;
  int s4 = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  struct sockaddr_in a4;
  memset(&a4, 0, sizeof a4);
  a4.sin_family = AF_INET;
  a4.sin_port = htons((unsigned short)port);
  setsockopt(s4, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(s4, (struct sockaddr *)&a4, sizeof a4) < 0 || setsockopt(s4, SOL_UDP, UDP_ENCAP, &type, sizeof type) < 0) { fprintf(io, "err encap4 %s\n", strerror(errno)); close(s4); return; }
  add(s4, -port);
  int s6 = socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  struct sockaddr_in6 a6;
  memset(&a6, 0, sizeof a6);
  a6.sin6_family = AF_INET6;
  a6.sin6_port = htons((unsigned short)port);
  setsockopt(s6, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  setsockopt(s6, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(s6, (struct sockaddr *)&a6, sizeof a6) < 0 || setsockopt(s6, SOL_UDP, UDP_ENCAP, &type, sizeof type) < 0) { fprintf(io, "err encap6 %s\n", strerror(errno)); close(s6); return; }
  add(s6, -port);
  fprintf(io, "ok\n");
}

static void cmd_send(const char *arg) {
  char dst[128];
  int sp, dp, n;
  char *hex = malloc(strlen(arg) + 1);
  if (sscanf(arg, "%d %127s %d %s", &sp, dst, &dp, hex) != 4 || (n = hexin(hex, buf, sizeof buf)) < 0) { fprintf(io, "err send syntax\n"); free(hex); return; }
  free(hex);
  struct sockaddr_in6 a;
  if (to6(dst, dp, &a) < 0) { fprintf(io, "err send address\n"); return; }
  int s = -1, temp = 0;
  for (int i = 0; i < nsock; i++) if (sport[i] == sp) s = sock[i];
  if (s < 0) { s = udp_dual(sp); temp = 1; }
  if (s < 0) { fprintf(io, "err send bind %s\n", strerror(errno)); return; }
  if (sendto(s, buf, (size_t)n, 0, (struct sockaddr *)&a, sizeof a) != n) fprintf(io, "err send %s\n", strerror(errno));
  else fprintf(io, "ok\n");
  if (temp) close(s);
}

static void cmd_recv(int want, int ms) {
  long long end = now_ms() + ms;
  int got = 0;
  struct pollfd pf[MAXS];
  for (;;) {
    int np = 0;
    for (int i = 0; i < nsock; i++) if (sport[i] > 0) { pf[np].fd = sock[i]; pf[np].events = POLLIN; np++; }
    long long left = end - now_ms();
    if (got >= want || left <= 0 || np == 0) break;
    if (poll(pf, (nfds_t)np, (int)left) <= 0) break;
    for (int i = 0, j = 0; i < nsock; i++) {
      if (sport[i] <= 0) continue;
      if (pf[j++].revents & POLLIN) {
        for (;;) {
          struct sockaddr_in6 from;
          socklen_t fl = sizeof from;
          ssize_t n = recvfrom(sock[i], buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
          if (n < 0) break;
          char txt[INET6_ADDRSTRLEN];
          const unsigned char *x = from.sin6_addr.s6_addr;
          int mapped = !memcmp(x, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12);
          if (mapped) inet_ntop(AF_INET, x + 12, txt, sizeof txt);
          else inet_ntop(AF_INET6, x, txt, sizeof txt);
          fprintf(io, "rx %s %d %d ", txt, ntohs(from.sin6_port), sport[i]);
          hexout(buf, (size_t)(n > 0 ? n : 0));
          fputc('\n', io);
          got++;
        }
      }
    }
  }
}

static void cmd_stat(void) {
  FILE *f = fopen("/proc/net/xfrm_stat", "r");
  char name[128];
  unsigned long v;
  if (f) {
    while (fscanf(f, "%127s %lu", name, &v) == 2) fprintf(io, "stat %s %lu\n", name, v);
    fclose(f);
  }
}

static int serve(int c) {
  io = fdopen(c, "r+");
  if (!io) return 0;
  char *line = NULL;
  size_t cap = 0;
  ssize_t len;
  int quit = 0;
  while (!quit && (len = getline(&line, &cap, io)) > 0) {
    line[strcspn(line, "\r\n")] = 0;
    char *arg = strchr(line, ' ');
    if (arg) *arg++ = 0;
    else arg = line + strlen(line);
    if (!strcmp(line, "sh")) cmd_sh(arg);
    else if (!strcmp(line, "bind")) {
      int p = atoi(arg), s = udp_dual(p);
      if (s < 0) fprintf(io, "err bind %d %s\n", p, strerror(errno));
      else { add(s, p); fprintf(io, "ok\n"); }
    } else if (!strcmp(line, "encap")) cmd_encap(atoi(arg));
    else if (!strcmp(line, "unbind")) {
      for (int i = 0; i < nsock; i++) close(sock[i]);
      nsock = 0;
      fprintf(io, "ok\n");
    } else if (!strcmp(line, "send")) cmd_send(arg);
    else if (!strcmp(line, "recv")) {
      int n = 0, ms = 0;
      sscanf(arg, "%d %d", &n, &ms);
      cmd_recv(n, ms);
    } else if (!strcmp(line, "stat")) cmd_stat();
    else if (!strcmp(line, "quit")) { fprintf(io, "ok\n"); quit = 1; }
    else fprintf(io, "err unknown command %s\n", line);
    fprintf(io, ".\n");
    fflush(io);
  }
  free(line);
  fclose(io);
  return quit;
}

int main(void) {
  int l = socket(AF_INET6, SOCK_STREAM, 0), zero = 0, one = 1;
  setsockopt(l, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
  setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in6 a;
  memset(&a, 0, sizeof a);
  a.sin6_family = AF_INET6;
  a.sin6_port = htons(7000);
  if (bind(l, (struct sockaddr *)&a, sizeof a) < 0 || listen(l, 4) < 0) { perror("kpeer: listen"); return 2; }
  printf("KPEER: listening on 7000\n");
  fflush(stdout);
  for (;;) {
    int c = accept(l, NULL, NULL);
    if (c < 0) continue;
    if (serve(c)) break;
  }
  sync();
  reboot(RB_POWER_OFF);
  return 0;
}
