#include "pipeline/reassembly.h"

#include <algorithm>
#include <cstring>
#include <random>

#include "net/bytes.h"
#include "net/checksum.h"

namespace edge46::pipeline {

using net::load16;
using net::store16;

namespace {

// The index size: a power of two at least twice the slot count, so linear
// probing stays short (load factor <= 1/2).
uint32_t index_size(uint32_t slots) noexcept {
  uint32_t n = 1;
  while (n < 2 * uint64_t{slots}) n <<= 1;
  return n;
}

uint64_t mix(uint64_t h, uint64_t w) noexcept {
  h ^= w;
  h *= 0x9e3779b97f4a7c15ull;
  return h ^ (h >> 29);
}

}  // namespace

Reassembler::Reassembler(const ReassemblyLimits& lim)
    : nslots_(lim.slots),
      nblocks_(lim.slots == 0 ? 0 : std::min<uint32_t>(lim.memory / kBlock, kNoBlock - 1)),
      nfree_(nblocks_),
      timeout_ns_(uint64_t{lim.timeout_ms} * 1'000'000),
      slots_(std::make_unique<Slot[]>(nslots_)),
      arena_(std::make_unique<uint8_t[]>(std::size_t{nblocks_} * kBlock)),
      free_(std::make_unique<uint16_t[]>(nblocks_)),
      free_slots_(std::make_unique<uint32_t[]>(nslots_)),
      nfree_slots_(nslots_),
      seed_((uint64_t{std::random_device{}()} << 32) ^ std::random_device{}()),
      mask_(index_size(nslots_) - 1),
      index_(std::make_unique<Entry[]>(std::size_t{mask_} + 1)) {
  for (uint32_t i = 0; i < nblocks_; ++i) {
    free_[i] = static_cast<uint16_t>(nblocks_ - 1 - i);
  }
  for (uint32_t i = 0; i < nslots_; ++i) {
    free_slots_[i] = nslots_ - 1 - i;
  }
}

uint32_t Reassembler::expire(uint64_t now_ns) noexcept {
  // Every datagram has the same timeout, so the FIFO by first-fragment time
  // is also by deadline: only the oldest ones can be due.
  uint32_t n = 0;
  while (oldest_ != kNil && now_ns >= slots_[oldest_].deadline_ns) {
    release(slots_[oldest_]);
    ++n;
  }
  return n;
}

uint64_t Reassembler::hash(const Frag& f) const noexcept {
  uint64_t w[4];
  std::memcpy(w, f.src.data(), 16);
  std::memcpy(w + 2, f.dst.data(), 16);
  uint64_t h = seed_;
  for (uint64_t x : w) h = mix(h, x);
  h = mix(h, (uint64_t{f.id} << 16) | (uint64_t{f.family} << 8) | f.protocol);
  return h ^ (h >> 32);
}

void Reassembler::unindex(const Slot& s) noexcept {
  const auto me = static_cast<uint32_t>(&s - slots_.get());
  uint32_t i = static_cast<uint32_t>(s.hash) & mask_;
  while (index_[i].slot != me) i = (i + 1) & mask_;
  // Backward-shift deletion (linear probing keeps no tombstones): every
  // later entry of the cluster whose home is not in (i, j] moves up to i.
  for (uint32_t j = (i + 1) & mask_; index_[j].slot != kNil; j = (j + 1) & mask_) {
    const uint32_t home = static_cast<uint32_t>(index_[j].hash) & mask_;
    const bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
    if (stays) continue;
    index_[i] = index_[j];
    i = j;
  }
  index_[i] = Entry{};
}

void Reassembler::release(Slot& s) noexcept {
  for (auto& b : s.blocks) {
    if (b != kNoBlock) {
      free_[nfree_++] = b;
      b = kNoBlock;
    }
  }
  unindex(s);
  (s.prev == kNil ? oldest_ : slots_[s.prev].next) = s.next;
  (s.next == kNil ? newest_ : slots_[s.next].prev) = s.prev;
  s.prev = s.next = kNil;
  s.used = false;
  free_slots_[nfree_slots_++] = static_cast<uint32_t>(&s - slots_.get());
  --used_;
}

Reassembler::Result Reassembler::discard(Slot& s, PipelineDrop why) noexcept {
  release(s);
  return Result{Status::kDropped, why};
}

Reassembler::Slot* Reassembler::find(const Frag& f) noexcept {
  for (uint32_t i = static_cast<uint32_t>(f.hash) & mask_; index_[i].slot != kNil; i = (i + 1) & mask_) {
    if (index_[i].hash != f.hash) continue;
    Slot& s = slots_[index_[i].slot];
    if (s.id == f.id && s.family == f.family && s.protocol == f.protocol && s.src == f.src && s.dst == f.dst) {
      return &s;
    }
  }
  return nullptr;
}

bool Reassembler::store(Slot& s, uint32_t off, const uint8_t* data, uint32_t len) noexcept {
  // Take every block the range needs first, so a failure copies nothing.
  const uint32_t first = off / kBlock, last = (off + len - 1) / kBlock;
  for (uint32_t b = first; b <= last; ++b) {
    if (s.blocks[b] != kNoBlock) continue;
    if (nfree_ == 0) return false;
    s.blocks[b] = free_[--nfree_];
  }
  while (len > 0) {
    const uint32_t b = off / kBlock, in = off % kBlock;
    const uint32_t n = std::min(len, kBlock - in);
    std::memcpy(arena_.get() + std::size_t{s.blocks[b]} * kBlock + in, data, n);
    off += n;
    data += n;
    len -= n;
  }
  return true;
}

void Reassembler::assemble(Slot& s) noexcept {
  uint8_t* o = out_.data();
  std::memcpy(o, s.header.data(), s.header_len);
  uint8_t* d = o + s.header_len;
  for (uint32_t off = 0; off < s.total; off += kBlock) {
    std::memcpy(d + off, arena_.get() + std::size_t{s.blocks[off / kBlock]} * kBlock, std::min(kBlock, s.total - off));
  }
  out_len_ = s.header_len + s.total;
  if (s.family == 4) {
    // RFC 791 3.2: the first fragment's header, as one unfragmented packet.
    // DF stays clear: the sender allowed fragmentation.
    store16(o + net::ipv4::kTotalLength, static_cast<uint16_t>(out_len_));
    store16(o + net::ipv4::kFlagsFragOff, 0);
    store16(o + net::ipv4::kChecksum, 0);
    store16(o + net::ipv4::kChecksum, net::ipv4_header_checksum(o, s.header_len));
  } else {
    // The Fragment header (the last 8 header bytes) stays, offset 0, M 0.
    store16(o + net::ipv6::kPayloadLength, static_cast<uint16_t>(out_len_ - net::ipv6::kHeader));
    store16(o + s.header_len - 8 + net::ipv6::kFragOffM, 0);
  }
  release(s);
}

Reassembler::Result Reassembler::add_frag(Frag& f, uint64_t now_ns) noexcept {
  f.hash = hash(f);
  const uint32_t end = f.off + f.len;
  // RFC 791 / RFC 8200 4.5: every fragment but the last carries a multiple
  // of 8 bytes; an empty fragment carries nothing to reassemble.
  const bool bad_len = f.len == 0 || (f.mf && f.len % 8 != 0);
  Slot* s = find(f);
  if (s == nullptr) {
    if (bad_len) return Result{Status::kDropped, PipelineDrop::kReasmBadFragment};
    if (end > f.max_end) return Result{Status::kDropped, PipelineDrop::kReasmTooBig};
    if (nfree_slots_ == 0) return Result{Status::kDropped, PipelineDrop::kReasmNoSlot};
    const uint32_t me = free_slots_[--nfree_slots_];
    s = &slots_[me];
    uint32_t i = static_cast<uint32_t>(f.hash) & mask_;
    while (index_[i].slot != kNil) i = (i + 1) & mask_;
    index_[i] = Entry{me, f.hash};
    s->prev = newest_;
    s->next = kNil;
    (newest_ == kNil ? oldest_ : slots_[newest_].next) = me;
    newest_ = me;
    ++used_;
    s->hash = f.hash;
    s->used = true;
    s->have_first = false;
    s->family = f.family;
    s->protocol = f.protocol;
    s->src = f.src;
    s->dst = f.dst;
    s->id = f.id;
    s->deadline_ns = now_ns + timeout_ns_;
    s->total = 0;
    s->received = 0;
    s->max_end = 0;
    s->header_len = 0;
    s->nfrags = 0;
    s->blocks.fill(kNoBlock);
  } else {
    if (bad_len) return discard(*s, PipelineDrop::kReasmBadFragment);
    if (end > f.max_end) return discard(*s, PipelineDrop::kReasmTooBig);
  }

  for (uint32_t i = 0; i < s->nfrags; ++i) {
    const Range& r = s->ranges[i];
    if (r.off == f.off && r.len == f.len) {
      return Result{Status::kDropped, PipelineDrop::kReasmDuplicate};
    }
    if (f.off < r.off + r.len && r.off < end) return discard(*s, PipelineDrop::kReasmOverlap);
  }
  // The last fragment fixes the size; nothing may lie beyond it.
  if (!f.mf) {
    if (s->total != 0 || s->max_end > end) return discard(*s, PipelineDrop::kReasmBadFragment);
    s->total = end;
  } else if (s->total != 0 && end > s->total) {
    return discard(*s, PipelineDrop::kReasmBadFragment);
  }
  if (s->nfrags == kMaxFragments) return discard(*s, PipelineDrop::kReasmTooManyFragments);
  if (f.header != nullptr) {
    if (f.header_len > kMaxHeader) return discard(*s, PipelineDrop::kReasmTooBig);
    std::memcpy(s->header.data(), f.header, f.header_len);
    s->header_len = f.header_len;
    s->have_first = true;
  }
  if (!store(*s, f.off, f.data, f.len)) return discard(*s, PipelineDrop::kReasmNoMemory);
  s->ranges[s->nfrags++] = Range{f.off, f.len};
  s->received += f.len;
  s->max_end = std::max(s->max_end, end);
  // No overlaps, so covering [0, total) is having received total bytes.
  if (s->total != 0 && s->have_first && s->received == s->total) {
    // The size bound again with the first fragment's header (a later
    // fragment's header may be shorter).
    const uint32_t hdr = s->family == 4 ? s->header_len : s->header_len - static_cast<uint32_t>(net::ipv6::kHeader);
    if (hdr + s->total > kMaxDatagram) return discard(*s, PipelineDrop::kReasmTooBig);
    assemble(*s);
    return Result{Status::kComplete, PipelineDrop::kCount};
  }
  return Result{Status::kHeld, PipelineDrop::kCount};
}

Reassembler::Result Reassembler::add(const net::Ipv4Packet& p, uint64_t now_ns) noexcept {
  Frag f{};
  f.family = 4;
  f.protocol = p.protocol;
  net::write_ipv4(f.src.data(), p.src);
  net::write_ipv4(f.dst.data(), p.dst);
  f.id = p.id;
  f.off = p.frag_offset;
  f.len = p.payload_length();
  f.mf = p.mf;
  f.data = p.payload();
  f.header = p.frag_offset == 0 ? p.hdr : nullptr;
  f.header_len = p.ihl;
  f.max_end = kMaxDatagram - p.ihl;  // RFC 791: Total Length is 16 bits
  return add_frag(f, now_ns);
}

Reassembler::Result Reassembler::add(const net::Ipv6Packet& p, uint64_t now_ns) noexcept {
  Frag f{};
  f.family = 6;
  f.protocol = p.protocol;
  net::write_ipv6(f.src.data(), p.src);
  net::write_ipv6(f.dst.data(), p.dst);
  f.id = p.frag_id;
  f.off = p.frag_offset;
  f.len = p.l4_length();
  f.mf = p.mf;
  f.data = p.l4();
  // Unfragmentable part + Fragment header (the Fragment header is last when
  // wants() holds: no extension header follows it).
  const uint32_t hdr = p.frag_header_offset + 8;
  f.header = p.frag_offset == 0 ? p.hdr : nullptr;
  f.header_len = hdr;
  // Payload Length of the reassembled packet is 16 bits (no jumbograms);
  // and its translation (RFC 7915 5.1: a 20-byte IPv4 header, no options,
  // the same upper-layer message) must fit a 16-bit Total Length.
  f.max_end = std::min(kMaxDatagram + static_cast<uint32_t>(net::ipv6::kHeader) - std::min(hdr, kMaxDatagram),
                       kMaxDatagram - static_cast<uint32_t>(net::ipv4::kMinHeader));
  return add_frag(f, now_ns);
}

}  // namespace edge46::pipeline
