// Offline packet files for the replay tool: reads pcap captures of raw IP,
// Ethernet (optionally one 802.1Q tag) or Linux cooked (SLL, SLL2) frames and
// hands out the L3 packet; writes LINKTYPE_RAW captures.
#pragma once

#include <pcap/pcap.h>

#include <cstdint>
#include <span>
#include <string>

namespace edge46::tools {

struct Frame {
  std::span<const uint8_t> l3;  // the IP packet (empty when skipped)
  unsigned family = 0;          // 4 or 6 by link-layer type / version nibble; 0 unknown
  std::string skip;             // why the frame carries no IP packet
  uint32_t wire_length = 0;     // original length of the frame
  timeval ts{};
};

class PcapReader {
 public:
  PcapReader() = default;
  PcapReader(const PcapReader&) = delete;
  PcapReader& operator=(const PcapReader&) = delete;
  ~PcapReader();
  // Empty on success, else why not (unreadable file, unsupported link type).
  std::string open(const std::string& path);
  // False at the end of the file (or on a read error, see error()).
  bool next(Frame& f);
  const std::string& error() const { return error_; }
  std::string linktype_name() const;

 private:
  pcap_t* pcap_ = nullptr;
  int dlt_ = 0;
  std::string error_;
};

class PcapWriter {
 public:
  PcapWriter() = default;
  PcapWriter(const PcapWriter&) = delete;
  PcapWriter& operator=(const PcapWriter&) = delete;
  ~PcapWriter();
  // LINKTYPE_RAW (101): every record is one IPv4 or IPv6 packet.
  std::string open(const std::string& path);
  void write(std::span<const uint8_t> packet, const timeval& ts);

 private:
  pcap_t* dead_ = nullptr;
  pcap_dumper_t* dumper_ = nullptr;
};

}  // namespace edge46::tools
