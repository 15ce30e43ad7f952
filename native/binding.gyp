{
  "targets": [
    {
      "target_name": "ipsec3gpp_wire",
      "sources": ["wire.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-std=gnu11"]
    }
  ]
}
