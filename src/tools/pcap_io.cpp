#include "tools/pcap_io.h"

#include <cstdio>

namespace edge46::tools {

namespace {

constexpr int kDltIpv4 = 228;   // LINKTYPE_IPV4
constexpr int kDltIpv6 = 229;   // LINKTYPE_IPV6
constexpr int kDltSll2 = 276;   // LINKTYPE_LINUX_SLL2
constexpr int kDltRawBsd = 14;  // DLT_RAW on OpenBSD; files carry it too

unsigned family_of_ethertype(uint16_t et) {
  return et == 0x0800 ? 4u : et == 0x86dd ? 6u : 0u;
}

std::string hex16(uint16_t v) {
  char b[8];
  std::snprintf(b, sizeof b, "0x%04x", v);
  return b;
}

}  // namespace

PcapReader::~PcapReader() {
  if (pcap_ != nullptr) {
    pcap_close(pcap_);
  }
}

std::string PcapReader::open(const std::string& path) {
  char err[PCAP_ERRBUF_SIZE] = {};
  pcap_ = pcap_open_offline(path.c_str(), err);
  if (pcap_ == nullptr) {
    return err;
  }
  dlt_ = pcap_datalink(pcap_);
  switch (dlt_) {
    case DLT_RAW:
    case kDltRawBsd:
    case DLT_EN10MB:
    case DLT_LINUX_SLL:
    case kDltSll2:
    case kDltIpv4:
    case kDltIpv6: return {};
    default:
      return "unsupported link type " + std::to_string(dlt_) + " (" + linktype_name() +
             "); use raw IP, Ethernet or Linux cooked captures";
  }
}

std::string PcapReader::linktype_name() const {
  const char* n = pcap_datalink_val_to_name(dlt_);
  return n != nullptr ? n : "unknown";
}

bool PcapReader::next(Frame& f) {
  pcap_pkthdr* h = nullptr;
  const u_char* data = nullptr;
  int rc = pcap_next_ex(pcap_, &h, &data);
  if (rc == PCAP_ERROR_BREAK) {
    return false;
  }
  if (rc != 1) {
    error_ = pcap_geterr(pcap_);
    return false;
  }
  f = Frame{};
  f.ts = h->ts;
  f.wire_length = h->len;
  std::span<const uint8_t> b(data, h->caplen);
  if (h->caplen < h->len) {
    f.skip = "frame truncated by the capture (snaplen)";
    return true;
  }
  unsigned family = 0;
  switch (dlt_) {
    case DLT_EN10MB: {
      if (b.size() < 14) {
        f.skip = "short Ethernet frame";
        return true;
      }
      uint16_t et = static_cast<uint16_t>(b[12] << 8 | b[13]);
      std::size_t hl = 14;
      if (et == 0x8100 && b.size() >= 18) {  // one 802.1Q tag
        et = static_cast<uint16_t>(b[16] << 8 | b[17]);
        hl = 18;
      }
      family = family_of_ethertype(et);
      if (family == 0) {
        f.skip = "ethertype " + hex16(et) + " is not IP";
        return true;
      }
      b = b.subspan(hl);
      break;
    }
    case DLT_LINUX_SLL: {
      if (b.size() < 16) {
        f.skip = "short Linux cooked (SLL) frame";
        return true;
      }
      uint16_t et = static_cast<uint16_t>(b[14] << 8 | b[15]);
      family = family_of_ethertype(et);
      if (family == 0) {
        f.skip = "protocol " + hex16(et) + " is not IP";
        return true;
      }
      b = b.subspan(16);
      break;
    }
    case kDltSll2: {
      if (b.size() < 20) {
        f.skip = "short Linux cooked (SLL2) frame";
        return true;
      }
      uint16_t et = static_cast<uint16_t>(b[0] << 8 | b[1]);
      family = family_of_ethertype(et);
      if (family == 0) {
        f.skip = "protocol " + hex16(et) + " is not IP";
        return true;
      }
      b = b.subspan(20);
      break;
    }
    case kDltIpv4: family = 4; break;
    case kDltIpv6: family = 6; break;
    default:  // raw IP: the version nibble says
      if (!b.empty()) {
        family = b[0] >> 4;
      }
      if (family != 4 && family != 6) {
        f.skip = b.empty() ? "empty frame" : "IP version " + std::to_string(family) + " is neither 4 nor 6";
        return true;
      }
      break;
  }
  f.family = family;
  f.l3 = b;
  return true;
}

PcapWriter::~PcapWriter() {
  if (dumper_ != nullptr) {
    pcap_dump_close(dumper_);
  }
  if (dead_ != nullptr) {
    pcap_close(dead_);
  }
}

std::string PcapWriter::open(const std::string& path) {
  dead_ = pcap_open_dead(DLT_RAW, 262144);
  if (dead_ == nullptr) {
    return "pcap_open_dead failed";
  }
  dumper_ = pcap_dump_open(dead_, path.c_str());
  if (dumper_ == nullptr) {
    return pcap_geterr(dead_);
  }
  return {};
}

void PcapWriter::write(std::span<const uint8_t> packet, const timeval& ts) {
  pcap_pkthdr h{};
  h.ts = ts;
  h.caplen = h.len = static_cast<bpf_u_int32>(packet.size());
  pcap_dump(reinterpret_cast<u_char*>(dumper_), &h, packet.data());
}

}  // namespace edge46::tools
