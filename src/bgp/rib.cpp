// The received rules (rib.h).
//
// Storage, sized for 1 M prefixes from each of 2-3 peers:
// - Path attributes are interned: a PathInfo holds one set of attributes
//   (and what best-path selection and validation derive from them), shared by
//   every route that carries the same set, refcounted by hand. The 500
//   prefixes of one UPDATE, and every later UPDATE with equal attributes,
//   share one record.
// - A route is 16 bytes: the PathInfo pointer, the peer, validity, reject
//   reason and flags.
// - Prefixes live in an open-addressing hash table (linear probing,
//   backward-shift deletion) of 24-byte slots: the prefix, the route count,
//   and the routes, inline when there is one, else in a heap array of
//   bit_ceil(n) routes.
// The installed target of a prefix is the target of its best-flagged route:
// each change captures it before and compares after, so an MrChange goes out
// only when the target itself changes.
#include "bgp/rib.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <random>
#include <unordered_map>

namespace edge46::bgp {

std::string_view max_prefix_action_name(MaxPrefixAction a) noexcept {
  switch (a) {
    case MaxPrefixAction::kWarn: return "warn";
    case MaxPrefixAction::kRefuse: return "refuse";
    case MaxPrefixAction::kTeardown: return "teardown";
  }
  return "?";
}

std::string_view reject_name(Reject r) noexcept {
  static constexpr std::string_view kNames[kRejectCount] = {
      "", "no-rule", "malformed", "loop", "default-policy", "import-filter", "invalid", "max-prefix"};
  const auto i = static_cast<std::size_t>(r);
  return i < kRejectCount ? kNames[i] : "?";
}

namespace {

using mapping::MrTarget;

// Every field of PathAttrs: two routes share a PathInfo only when all agree.
// (Keep in step with types.h when PathAttrs grows.)
// Every field (types.h defaults the comparison, so a new field is never
// forgotten here).
bool same_attrs(const PathAttrs& a, const PathAttrs& b) {
  return a == b;
}

inline uint64_t mix(uint64_t h, uint64_t v) noexcept {
  h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
  return h;
}
inline uint64_t splitmix(uint64_t x) noexcept {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// A hash over every field of PathAttrs (same_attrs settles collisions).
// Every field comes from the peer: one left out lets a peer send routes
// whose attribute sets differ only there, all in one chain, each new one
// compared with every earlier one (quadratic). The per-process seed keeps a
// peer from precomputing colliding sets for this (non-cryptographic) mix.
uint64_t hash_seed() {
  static const uint64_t seed = [] {
    std::random_device rd;
    return (uint64_t{rd()} << 32) ^ rd();
  }();
  return seed;
}

uint64_t hash_attrs(const PathAttrs& a) {
  uint64_t h = mix(hash_seed(), a.origin);
  h = mix(h, a.as_path.size());
  for (const auto& seg : a.as_path) {
    h = mix(h, seg.type);
    h = mix(h, seg.asns.size());
    for (uint32_t asn : seg.asns) h = mix(h, asn);
  }
  h = mix(h, a.med.value_or(~0ULL));
  h = mix(h, a.local_pref.value_or(~0ULL));
  h = mix(h, a.atomic_aggregate ? 1 : 0);
  h = mix(h, a.originator_id.value_or(~0ULL));
  h = mix(h, a.cluster_list.size());
  for (uint32_t c : a.cluster_list) h = mix(h, c);
  h = mix(h, a.communities.size());
  for (uint32_t c : a.communities) h = mix(h, c);
  const auto nh = a.next_hop.to_u128();
  h = mix(h, static_cast<uint64_t>(nh)), h = mix(h, static_cast<uint64_t>(nh >> 64));
  const auto ll = a.next_hop_link_local ? a.next_hop_link_local->to_u128() : ~net::u128{0};
  h = mix(h, static_cast<uint64_t>(ll)), h = mix(h, static_cast<uint64_t>(ll >> 64));
  h = mix(h, static_cast<uint64_t>(a.rule_state));
  const auto p6 = a.rule.pref6.addr.to_u128();
  h = mix(h, static_cast<uint64_t>(p6 >> 64)), h = mix(h, static_cast<uint64_t>(p6)), h = mix(h, a.rule.pref6.len);
  h = mix(h, (a.rule.translate ? 1 : 0) | (a.rule.is_default ? 2 : 0));
  const auto eg = a.rule.egress ? a.rule.egress->to_u128() : ~net::u128{0};
  h = mix(h, static_cast<uint64_t>(eg)), h = mix(h, static_cast<uint64_t>(eg >> 64));
  h = mix(h, static_cast<uint64_t>(a.rule_shape));
  for (char c : a.rule_error) h = mix(h, static_cast<uint8_t>(c));
  h = mix(h, a.rule_attr_raw.size());
  for (uint8_t b : a.rule_attr_raw) h = mix(h, b);
  h = mix(h, a.other.size());
  for (const auto& o : a.other) {
    h = mix(h, (uint64_t{o.flags} << 8) | o.type);
    h = mix(h, o.value.size());
    for (uint8_t b : o.value) h = mix(h, b);
  }
  return splitmix(h);
}

// The neighbour AS for the MED comparison (RFC 4271 9.1.2.2 c): the first AS
// of the path; an empty path (a route from inside our AS) has none, and
// all such routes compare as one neighbour.
std::optional<uint32_t> neighbor_as(const std::vector<AsSegment>& path) {
  for (const auto& seg : path) {
    if (seg.asns.empty()) continue;
    if (seg.type == 2) return seg.asns.front();
    if (seg.type == 1) return std::nullopt;
    // confederation segments: the neighbour is further in.
  }
  return std::nullopt;
}

bool path_has_as(const std::vector<AsSegment>& path) {
  for (const auto& seg : path) {
    if ((seg.type == 1 || seg.type == 2) && !seg.asns.empty()) return true;
  }
  return false;
}

}  // namespace

struct PathInfo {
  PathAttrs attrs;
  uint64_t hash = 0;
  uint32_t refs = 0;
  uint32_t path_len = 0;
  std::optional<uint32_t> neighbor;
  std::optional<uint32_t> origin;  // origin_as(as_path)
  bool no_as = true;               // no AS_SEQUENCE/AS_SET ASN at all
  MrTarget target;                 // when rule_state == kPresent
};

namespace {

enum RouteFlag : uint8_t { kStale = 1, kBest = 2 };

// Trivial (it lives in a union): no default member initializers.
struct Route {
  PathInfo* path;
  PeerId peer;
  Validity validity;
  Reject reject;
  uint8_t flags;
};
static_assert(sizeof(Route) == 16);

struct Slot {
  uint32_t addr;
  uint8_t len;
  uint8_t used;
  uint16_t n;  // routes: inline when 1, else `many` with capacity bit_ceil(n)
  union {
    Route one;
    Route* many;
  };
  Route* routes() noexcept { return n <= 1 ? &one : many; }
  const Route* routes() const noexcept { return n <= 1 ? &one : many; }
  net::Ipv4Prefix prefix() const noexcept { return net::Ipv4Prefix{net::Ipv4Addr{addr}, len}; }
};
static_assert(sizeof(Slot) == 24);

inline std::size_t cap_of(std::size_t n) noexcept {
  return n <= 1 ? 1 : std::bit_ceil(n);
}

void slot_add(Slot& s, const Route& r) {
  if (s.n == 0) {
    s.one = r;
  } else if (s.n == 1) {
    Route* a = new Route[2];
    a[0] = s.one, a[1] = r;
    s.many = a;
  } else {
    if (cap_of(s.n + 1u) > cap_of(s.n)) {
      Route* a = new Route[cap_of(s.n + 1u)];
      std::memcpy(a, s.many, s.n * sizeof(Route));
      delete[] s.many;
      s.many = a;
    }
    s.many[s.n] = r;
  }
  ++s.n;
}

void slot_remove(Slot& s, std::size_t i) {
  if (s.n == 1) {
    s.n = 0;
    return;
  }
  if (s.n == 2) {
    Route keep = s.many[1 - i];
    delete[] s.many;
    s.one = keep;
    s.n = 1;
    return;
  }
  Route* a = s.many;
  std::memmove(a + i, a + i + 1, (s.n - i - 1) * sizeof(Route));
  if (cap_of(s.n - 1u) < cap_of(s.n)) {
    Route* b = new Route[cap_of(s.n - 1u)];
    std::memcpy(b, a, (s.n - 1u) * sizeof(Route));
    delete[] a;
    s.many = b;
  }
  --s.n;
}

// Open addressing over Slot, keyed by (addr, len).
class PrefixTable {
 public:
  PrefixTable() : slots_(16), mask_(15) { clear_all(); }
  ~PrefixTable() {
    for (auto& s : slots_) {
      if (s.used && s.n > 1) delete[] s.many;
    }
  }

  std::size_t size() const noexcept { return size_; }
  std::size_t capacity() const noexcept { return slots_.size(); }

  Slot* find(net::Ipv4Prefix p) noexcept {
    for (std::size_t i = home(p.addr.value, p.len);; i = (i + 1) & mask_) {
      Slot& s = slots_[i];
      if (!s.used) return nullptr;
      if (s.addr == p.addr.value && s.len == p.len) return &s;
    }
  }
  const Slot* find(net::Ipv4Prefix p) const noexcept { return const_cast<PrefixTable*>(this)->find(p); }

  // The slot of p, created empty (n == 0) when absent. Pointers into the
  // table are invalidated by this call.
  Slot& get(net::Ipv4Prefix p) {
    if (Slot* s = find(p)) return *s;
    if ((size_ + 1) * 8 > slots_.size() * 7) grow();
    std::size_t i = home(p.addr.value, p.len);
    while (slots_[i].used) i = (i + 1) & mask_;
    Slot& s = slots_[i];
    s.addr = p.addr.value, s.len = p.len, s.used = 1, s.n = 0;
    ++size_;
    return s;
  }

  // Removes a slot whose routes are gone (n == 0); backward-shift deletion
  // (Knuth 6.4 algorithm R) keeps probe chains intact without tombstones.
  void erase(Slot& victim) noexcept {
    std::size_t i = static_cast<std::size_t>(&victim - slots_.data());
    std::size_t j = i;
    for (;;) {
      j = (j + 1) & mask_;
      if (!slots_[j].used) break;
      const std::size_t k = home(slots_[j].addr, slots_[j].len);
      const bool movable = i <= j ? (k <= i || k > j) : (k <= i && k > j);
      if (movable) {
        slots_[i] = slots_[j];
        i = j;
      }
    }
    slots_[i].used = 0;
    --size_;
  }

  template <class F>
  void for_each(F&& f) const {
    for (const auto& s : slots_) {
      if (s.used) f(s);
    }
  }

 private:
  std::size_t home(uint32_t addr, uint8_t len) const noexcept { return splitmix((uint64_t{addr} << 8) | len) & mask_; }
  void clear_all() {
    for (auto& s : slots_) s.used = 0;
  }
  void grow() {
    std::vector<Slot> old(slots_.size() * 2);
    old.swap(slots_);
    mask_ = slots_.size() - 1;
    clear_all();
    for (const auto& s : old) {
      if (!s.used) continue;
      std::size_t i = home(s.addr, s.len);
      while (slots_[i].used) i = (i + 1) & mask_;
      slots_[i] = s;
    }
  }

  std::vector<Slot> slots_;
  std::size_t mask_;
  std::size_t size_ = 0;
};

}  // namespace

struct Rib::Impl {
  struct Peer {
    PeerPolicy policy;
    uint32_t bgp_id = 0;
    PeerCounters counters;
  };

  RibConfig cfg;
  std::unordered_map<PeerId, Peer> peers;
  PrefixTable table;
  std::unordered_multimap<uint64_t, PathInfo*> interned;
  std::shared_ptr<const Authorization> auth;
  std::size_t prefix_count = 0;
  std::size_t route_count = 0;
  std::vector<std::size_t> scratch;        // select_best's candidates
  std::vector<const Peer*> scratch_peers;  // and their peers

  explicit Impl(RibConfig c) : cfg(c) {}
  // The table's destructor frees the route arrays; the PathInfos go here.
  ~Impl() {
    for (auto& [h, p] : interned) delete p;
  }

  // ---- interned attributes ----
  PathInfo* intern(const PathAttrs& a) {
    const uint64_t h = hash_attrs(a);
    auto [lo, hi] = interned.equal_range(h);
    for (auto it = lo; it != hi; ++it) {
      if (same_attrs(it->second->attrs, a)) return it->second;
    }
    auto* p = new PathInfo;
    p->attrs = a;
    p->hash = h;
    p->path_len = as_path_length(a.as_path);
    p->neighbor = neighbor_as(a.as_path);
    p->origin = origin_as(a.as_path);
    p->no_as = !path_has_as(a.as_path);
    if (a.rule_state == PathAttrs::RuleState::kPresent) {
      p->target.pool6 = mapping::Pool6{a.rule.pref6, cfg.layout};
      p->target.modes = a.rule.translate ? mapping::kModeTranslate : mapping::kModeEncapsulate;
    }
    interned.emplace(h, p);
    return p;
  }
  void release(PathInfo* p) {
    if (--p->refs > 0) return;
    auto [lo, hi] = interned.equal_range(p->hash);
    for (auto it = lo; it != hi; ++it) {
      if (it->second == p) {
        interned.erase(it);
        break;
      }
    }
    delete p;
  }

  // ---- counters ----
  void account(const Route& r, int sign) {
    auto it = peers.find(r.peer);
    route_count += sign;
    if (it == peers.end()) return;
    auto& c = it->second.counters;
    c.received += sign;
    if (r.reject == Reject::kNone) c.accepted += sign;
    if (r.flags & kStale) c.stale += sign;
  }

  // ---- validation ----
  std::optional<uint32_t> origin_for(const PathInfo& pi, const Peer& peer) const {
    // An iBGP route with an empty AS_PATH was originated inside our AS: its
    // origin AS is the peer's own AS, which is our local AS (RFC 6811 2 takes
    // the origin from the path; an empty path means "this AS").
    if (!pi.origin && pi.no_as && peer.policy.ibgp) return cfg.local_as;
    return pi.origin;
  }
  Validity validity_of(const PathInfo& pi, const Peer& peer, net::Ipv4Prefix p) const {
    if (!auth || pi.attrs.rule_state != PathAttrs::RuleState::kPresent) return Validity::kNotFound;
    return auth->validate(p, pi.attrs.rule.pref6, origin_for(pi, peer));
  }

  // ---- best path ----
  uint32_t local_pref_of(const Route& r, const Peer& peer) const {
    // RFC 4271 5.1.5: LOCAL_PREF from an external peer is ignored.
    if (!peer.policy.ibgp) return 100;
    return r.path->attrs.local_pref.value_or(100);
  }
  uint32_t router_id_of(const Route& r, const Peer& peer) const {
    // RFC 4456 9: the ORIGINATOR_ID stands in for the BGP identifier.
    return r.path->attrs.originator_id.value_or(peer.bgp_id);
  }

  // The index of the best accepted route of the slot, or -1.
  int select_best(const Slot& s) {
    const Route* rs = s.routes();
    auto& cand = scratch;
    cand.clear();
    for (std::size_t i = 0; i < s.n; ++i) {
      if (rs[i].reject == Reject::kNone) cand.push_back(i);
    }
    if (cand.empty()) return -1;
    if (cand.size() == 1) return static_cast<int>(cand[0]);
    auto& pe = scratch_peers;
    pe.assign(s.n, nullptr);
    static const Peer kNoPeer{};
    for (std::size_t i : cand) {
      auto it = peers.find(rs[i].peer);
      pe[i] = it == peers.end() ? &kNoPeer : &it->second;
    }
    // Keep the candidates whose key is the best (lowest after `key`).
    auto keep_min = [&](auto key) {
      if (cand.size() <= 1) return;
      auto best = key(cand[0]);
      for (std::size_t i : cand) best = std::min(best, key(i));
      std::erase_if(cand, [&](std::size_t i) { return key(i) != best; });
    };
    // RFC 4271 9.1.2.2 a-c.
    keep_min([&](std::size_t i) { return ~local_pref_of(rs[i], *pe[i]); });
    keep_min([&](std::size_t i) { return rs[i].path->path_len; });
    keep_min([&](std::size_t i) { return rs[i].path->attrs.origin; });
    // d: a route loses to one from the same neighbour AS with a lower MED
    // (absent = 0); routes from different neighbours are not compared.
    if (cand.size() > 1) {
      std::vector<std::size_t> out;
      for (std::size_t i : cand) {
        const uint32_t med_i = rs[i].path->attrs.med.value_or(0);
        bool beaten = false;
        for (std::size_t j : cand) {
          if (rs[j].path->neighbor == rs[i].path->neighbor && rs[j].path->attrs.med.value_or(0) < med_i) {
            beaten = true;
            break;
          }
        }
        if (!beaten) out.push_back(i);
      }
      cand.swap(out);
    }
    // e: eBGP over iBGP. (f, IGP cost to the next hop: we have none.)
    keep_min([&](std::size_t i) { return pe[i]->policy.ibgp ? 1 : 0; });
    // f (RFC 4456 9 amends): lowest router ID, then shortest CLUSTER_LIST.
    keep_min([&](std::size_t i) { return router_id_of(rs[i], *pe[i]); });
    keep_min([&](std::size_t i) { return rs[i].path->attrs.cluster_list.size(); });
    // g: lowest peer address.
    keep_min([&](std::size_t i) { return pe[i]->policy.address; });
    return static_cast<int>(cand[0]);
  }

  static std::optional<MrTarget> installed(const Slot& s) {
    const Route* rs = s.routes();
    for (std::size_t i = 0; i < s.n; ++i) {
      if (rs[i].flags & kBest) return rs[i].path->target;
    }
    return std::nullopt;
  }

  // After a change to the slot: pick the best again, emit the MR-DB change
  // when the installed target moved, and drop the slot when it is empty.
  void settle(Slot& s, const std::optional<MrTarget>& before, std::vector<MrChange>& out) {
    Route* rs = s.routes();
    const int best = select_best(s);
    for (std::size_t i = 0; i < s.n; ++i) {
      rs[i].flags = static_cast<uint8_t>((rs[i].flags & ~kBest) | (static_cast<int>(i) == best ? kBest : 0));
    }
    std::optional<MrTarget> after;
    if (best >= 0) after = rs[best].path->target;
    if (before != after) out.push_back(MrChange{s.prefix(), after});
    if (before && !after) --prefix_count;
    if (!before && after) ++prefix_count;
    if (s.n == 0) table.erase(s);
  }

  static int find_peer_route(const Slot& s, PeerId id) {
    const Route* rs = s.routes();
    for (std::size_t i = 0; i < s.n; ++i) {
      if (rs[i].peer == id) return static_cast<int>(i);
    }
    return -1;
  }

  // Removes the peer's route for p (if any). Returns whether there was one.
  bool withdraw(PeerId id, net::Ipv4Prefix p, std::vector<MrChange>& out) {
    Slot* s = table.find(p);
    if (!s) return false;
    const int i = find_peer_route(*s, id);
    if (i < 0) return false;
    const auto before = installed(*s);
    Route r = s->routes()[i];
    account(r, -1);
    slot_remove(*s, static_cast<std::size_t>(i));
    release(r.path);
    settle(*s, before, out);
    return true;
  }

  // The prefixes where the peer holds a route matching pred. Collected first:
  // erasing from the table while scanning it would move slots under us.
  template <class Pred>
  std::vector<net::Ipv4Prefix> peer_prefixes(PeerId id, Pred pred) const {
    std::vector<net::Ipv4Prefix> v;
    table.for_each([&](const Slot& s) {
      const Route* rs = s.routes();
      for (std::size_t i = 0; i < s.n; ++i) {
        if (rs[i].peer == id && pred(rs[i])) {
          v.push_back(s.prefix());
          break;
        }
      }
    });
    return v;
  }
};

Rib::Rib(RibConfig cfg) : impl_(std::make_unique<Impl>(cfg)) {}
Rib::~Rib() = default;

void Rib::set_peer(PeerId id, PeerPolicy policy) {
  impl_->peers[id].policy = std::move(policy);
}

void Rib::set_peer_router_id(PeerId id, uint32_t bgp_id) {
  auto it = impl_->peers.find(id);
  if (it != impl_->peers.end()) it->second.bgp_id = bgp_id;
}

ApplyResult Rib::apply(PeerId id, const Update& u, std::vector<MrChange>& out) {
  ApplyResult res;
  Impl& m = *impl_;
  auto pit = m.peers.find(id);
  if (pit == m.peers.end()) {
    res.logs.push_back("update from unknown peer " + std::to_string(id) + " ignored");
    return res;
  }
  Impl::Peer& peer = pit->second;
  const PeerPolicy& pol = peer.policy;
  PeerCounters& c = peer.counters;
  ++c.updates;

  constexpr std::size_t kMaxMalformedLogs = 10;
  std::size_t malformed_logs = 0;
  auto log_malformed = [&](net::Ipv4Prefix first, std::size_t count, const std::string& why) {
    if (malformed_logs >= kMaxMalformedLogs) return;
    ++malformed_logs;
    std::string line = "peer " + pol.name + ": malformed 4map6 rule for " + net::to_string(first);
    if (count > 1) line += " and " + std::to_string(count - 1) + " more";
    line += " (treat-as-withdraw): " + why;
    res.logs.push_back(std::move(line));
  };

  for (const auto& p : u.withdrawn) {
    ++c.withdrawn;
    m.withdraw(id, p, out);
  }

  const PathAttrs& a = u.attrs;
  const bool malformed = u.treat_as_withdraw || a.rule_state == PathAttrs::RuleState::kMalformed;
  if (malformed && !u.announced.empty()) {
    // RFC 7606 2 treat-as-withdraw: the peer's earlier routes for these
    // prefixes are gone, and nothing of this UPDATE is kept.
    for (const auto& p : u.announced) {
      ++c.announced, ++c.withdrawn;
      ++c.rejected[static_cast<std::size_t>(Reject::kMalformed)];
      m.withdraw(id, p, out);
    }
    log_malformed(u.announced.front(), u.announced.size(),
                  a.rule_state == PathAttrs::RuleState::kMalformed ? a.rule_error : u.error);
  } else if (!u.announced.empty()) {
    PathInfo* pi = m.intern(a);
    ++pi->refs;  // held through the loop (withdrawals below release paths)
    const bool has_rule = a.rule_state == PathAttrs::RuleState::kPresent;
    // Loops, the same for every prefix of the UPDATE (RFC 4456 8; RFC 4271
    // 9.1.2 for our AS in an eBGP path).
    bool loop = (a.originator_id && *a.originator_id == m.cfg.router_id) ||
                std::find(a.cluster_list.begin(), a.cluster_list.end(), m.cfg.router_id) != a.cluster_list.end();
    if (!pol.ibgp) {
      for (const auto& seg : a.as_path) {
        if (std::find(seg.asns.begin(), seg.asns.end(), m.cfg.local_as) != seg.asns.end()) loop = true;
      }
    }
    // Flag D against the prefixes: malformed ones are withdrawn, one log line.
    std::size_t d_bad = 0;
    std::optional<net::Ipv4Prefix> d_first;

    for (const auto& p : u.announced) {
      ++c.announced;
      if (has_rule && a.rule.is_default != (p.len == 0)) {
        ++c.withdrawn;
        ++c.rejected[static_cast<std::size_t>(Reject::kMalformed)];
        if (!d_first) d_first = p;
        ++d_bad;
        m.withdraw(id, p, out);
        continue;
      }
      Reject rej = Reject::kNone;
      Validity val = Validity::kNotFound;
      if (!has_rule) {
        rej = Reject::kNoRule;
      } else {
        val = m.validity_of(*pi, peer, p);
        if (loop) {
          rej = Reject::kLoop;
        } else if (p.len == 0 && (pol.ibgp ? !pol.inside_domain : !pol.accept_default)) {
          // Framework 7.2: the default rule stays inside the domain. From an
          // eBGP peer only with accept_default; from an iBGP peer only when
          // it is marked inside the domain.
          rej = Reject::kDefaultPolicy;
        } else if (!pol.import.accepts(p)) {
          rej = Reject::kImportFilter;
        } else if (val == Validity::kInvalid && m.cfg.reject_invalid) {
          rej = Reject::kInvalid;
        }
      }

      Slot& s = m.table.get(p);
      const int idx = Impl::find_peer_route(s, id);
      Route* old = idx >= 0 ? &s.routes()[idx] : nullptr;

      if (rej == Reject::kNone && pol.max_prefix > 0) {
        const bool replacement = old && old->reject == Reject::kNone;
        if (!replacement && c.accepted + 1 > pol.max_prefix) {
          if (!c.max_prefix_warned) {
            c.max_prefix_warned = true;
            res.logs.push_back("peer " + pol.name + ": more than " + std::to_string(pol.max_prefix) +
                               " accepted prefixes (max-prefix " +
                               std::string(max_prefix_action_name(pol.max_prefix_action)) + ")");
          }
          if (pol.max_prefix_action != MaxPrefixAction::kWarn) rej = Reject::kMaxPrefix;
          if (pol.max_prefix_action == MaxPrefixAction::kTeardown) res.teardown = true;
        }
      }
      if (rej != Reject::kNone) ++c.rejected[static_cast<std::size_t>(rej)];

      const auto before = Impl::installed(s);
      const Route fresh{pi, id, val, rej, 0};
      ++pi->refs;
      if (old) {
        const Route prev = *old;
        m.account(prev, -1);
        *old = fresh;
        m.account(fresh, +1);
        m.release(prev.path);
      } else {
        slot_add(s, fresh);
        m.account(fresh, +1);
      }
      m.settle(s, before, out);
    }
    if (d_bad > 0) {
      log_malformed(*d_first, d_bad,
                    a.rule.is_default ? "flag D set on a prefix other than 0.0.0.0/0" : "flag D clear on 0.0.0.0/0");
    }
    m.release(pi);
  }

  if (u.end_of_rib) flush_stale(id, out);  // RFC 4724 4.2
  return res;
}

void Rib::peer_down(PeerId id, bool keep_stale, std::vector<MrChange>& out) {
  Impl& m = *impl_;
  auto pit = m.peers.find(id);
  if (pit == m.peers.end()) return;
  pit->second.counters.max_prefix_warned = false;  // a new session warns again
  if (!keep_stale) {
    for (const auto& p : m.peer_prefixes(id, [](const Route&) { return true; })) m.withdraw(id, p, out);
    return;
  }
  // RFC 4724 4.2 style: the routes stay (and stay installed), marked stale.
  for (const auto& p : m.peer_prefixes(id, [](const Route& r) { return !(r.flags & kStale); })) {
    Slot* s = m.table.find(p);
    Route& r = s->routes()[Impl::find_peer_route(*s, id)];
    m.account(r, -1);
    r.flags |= kStale;
    m.account(r, +1);
  }
}

void Rib::flush_stale(PeerId id, std::vector<MrChange>& out) {
  Impl& m = *impl_;
  for (const auto& p : m.peer_prefixes(id, [](const Route& r) { return (r.flags & kStale) != 0; })) {
    m.withdraw(id, p, out);
  }
}

void Rib::remove_peer(PeerId id, std::vector<MrChange>& out) {
  Impl& m = *impl_;
  for (const auto& p : m.peer_prefixes(id, [](const Route&) { return true; })) m.withdraw(id, p, out);
  m.peers.erase(id);
}

void Rib::set_authorization(std::shared_ptr<const Authorization> auth, std::vector<MrChange>& out) {
  Impl& m = *impl_;
  m.auth = std::move(auth);
  // Every route that has a rule gets its state again; the reject reason
  // moves only between none and invalid (the earlier steps do not depend on
  // authorization, and the max-prefix limit is not applied again here).
  std::vector<net::Ipv4Prefix> prefixes;
  prefixes.reserve(m.table.size());
  m.table.for_each([&](const Slot& s) { prefixes.push_back(s.prefix()); });
  for (const auto& p : prefixes) {
    Slot* s = m.table.find(p);
    const auto before = Impl::installed(*s);
    bool changed = false;
    Route* rs = s->routes();
    for (std::size_t i = 0; i < s->n; ++i) {
      Route& r = rs[i];
      auto pit = m.peers.find(r.peer);
      if (pit == m.peers.end() || r.path->attrs.rule_state != PathAttrs::RuleState::kPresent) continue;
      r.validity = m.validity_of(*r.path, pit->second, p);
      if (r.reject != Reject::kNone && r.reject != Reject::kInvalid) continue;
      const Reject now = r.validity == Validity::kInvalid && m.cfg.reject_invalid ? Reject::kInvalid : Reject::kNone;
      if (now != r.reject) {
        m.account(r, -1);
        r.reject = now;
        m.account(r, +1);
        changed = true;
      }
    }
    if (changed) m.settle(*s, before, out);
  }
}

const PeerCounters* Rib::counters(PeerId id) const {
  auto it = impl_->peers.find(id);
  return it == impl_->peers.end() ? nullptr : &it->second.counters;
}

std::vector<RouteView> Rib::routes(std::optional<PeerId> peer, std::optional<net::Ipv4Prefix> prefix,
                                   bool exact) const {
  const Impl& m = *impl_;
  std::vector<RouteView> v;
  auto add = [&](const Slot& s) {
    const Route* rs = s.routes();
    for (std::size_t i = 0; i < s.n; ++i) {
      const Route& r = rs[i];
      if (peer && r.peer != *peer) continue;
      RouteView rv;
      rv.prefix = s.prefix();
      rv.peer = r.peer;
      if (auto it = m.peers.find(r.peer); it != m.peers.end()) rv.peer_name = it->second.policy.name;
      rv.attrs = r.path->attrs;
      rv.validity = r.validity;
      rv.reject = r.reject;
      rv.best = (r.flags & kBest) != 0;
      rv.stale = (r.flags & kStale) != 0;
      v.push_back(std::move(rv));
    }
  };
  if (prefix && exact) {
    if (const Slot* s = m.table.find(*prefix)) add(*s);
  } else {
    m.table.for_each([&](const Slot& s) {
      if (prefix) {
        const net::Ipv4Prefix q = s.prefix();
        const bool covers = q.len <= prefix->len && q.contains(prefix->addr);
        const bool inside = prefix->len <= q.len && prefix->contains(q.addr);
        if (!covers && !inside) return;
      }
      add(s);
    });
  }
  std::sort(v.begin(), v.end(), [](const RouteView& a, const RouteView& b) {
    if (a.prefix.addr.value != b.prefix.addr.value) return a.prefix.addr.value < b.prefix.addr.value;
    if (a.prefix.len != b.prefix.len) return a.prefix.len < b.prefix.len;
    return a.peer < b.peer;
  });
  return v;
}

std::size_t Rib::prefix_count() const noexcept {
  return impl_->prefix_count;
}
std::size_t Rib::route_count() const noexcept {
  return impl_->route_count;
}

}  // namespace edge46::bgp
