// Offline packet dissection for the tools and the test harnesses (never on
// the data path): names the field at every byte offset of a raw IPv4/IPv6
// packet, checks every checksum it can, and writes a one-line summary.
//
// Covers IPv4 (options), IPv6 and its extension headers (Fragment header
// fields named), ICMPv4/ICMPv6 (echo, errors with RFC 4884 length and
// extensions), TCP, UDP, and the packet quoted inside an ICMP error
// (recursively, fields prefixed "inner "). Tolerates any garbage: fields stop
// where the bytes stop.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace edge46::tools {

struct Field {
  uint32_t begin;  // byte offsets into the packet, [begin, end)
  uint32_t end;
  std::string name;  // "IPv4.ttl", "inner UDP.checksum", "ICMPv6 extension"
};

struct Checksum {
  uint32_t offset;   // of the 16-bit checksum field
  std::string name;  // "IPv4.header-checksum", "inner IPv4.header-checksum", "ICMPv4.checksum"
  bool valid;
};

struct Dissection {
  std::vector<Field> fields;        // in offset order, non-overlapping
  std::vector<Checksum> checksums;  // every checksum whose coverage is fully present
  std::string summary;              // "IPv4 192.0.2.33->198.51.100.2 len=1308 ttl=63 ... | UDP 2000->4000"
};

Dissection dissect(std::span<const uint8_t> packet);

// Name of the field holding byte `offset` ("IPv4.ttl", "UDP payload[+12]"),
// or "past the end" when the packet is shorter.
std::string field_at(const Dissection& d, uint32_t offset);

// Source and destination of the outer header as text (empty if not IP).
std::string endpoints(std::span<const uint8_t> packet);

}  // namespace edge46::tools
