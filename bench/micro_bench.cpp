// Micro-benchmarks of the hot paths: merging a mutation, encoding and decoding change
// batches, verifying a token. Run: build/release/bench/tandem_micro_bench
#include <benchmark/benchmark.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <stdexcept>

#include "auth/token.h"
#include "protocol/codec.h"
#include "sync/merge.h"

namespace tandem {
namespace {

void BM_MergeUpdateIntoLiveRow(benchmark::State& state) {
  sync::RowState row =
      sync::RowState::preexisting({{"id", "o1"}, {"item", "pen"}, {"qty", 1}, {"price", "2.00"}});
  std::uint64_t clock = 1;
  for (auto _ : state) {
    sync::Mutation mutation{"orders",
                            sync::Op::update,
                            {{"id", "o1"}},
                            {{"qty", static_cast<std::int64_t>(clock)}},
                            sync::Stamp{sync::Hlc(clock++), "phone"}};
    benchmark::DoNotOptimize(sync::merge(row, mutation));
  }
}
BENCHMARK(BM_MergeUpdateIntoLiveRow);

std::vector<sync::Change> sample_changes(std::size_t count) {
  std::vector<sync::Change> changes;
  for (std::size_t i = 0; i < count; ++i) {
    sync::Change change;
    change.seq = i + 1;
    change.table = "past_orders";
    change.op = sync::Op::insert;
    change.pk = {{"id", "order-" + std::to_string(i)}};
    change.row = {{"id", "order-" + std::to_string(i)},
                  {"item_name", "Espresso beans 1kg"},
                  {"price", "24.00"},
                  {"quantity", 2},
                  {"owner_id", "alice"}};
    change.stamp = sync::Stamp{sync::Hlc(1000 + i), "alice-phone"};
    changes.push_back(std::move(change));
  }
  return changes;
}

void BM_EncodeChangeBatchOf100(benchmark::State& state) {
  auto codec = protocol::make_json_codec();
  auto changes = sample_changes(100);
  for (auto _ : state) {
    std::vector<std::string> encoded;
    encoded.reserve(changes.size());
    for (const auto& change : changes)
      encoded.push_back(codec->encode_change(change));
    std::vector<std::string_view> parts(encoded.begin(), encoded.end());
    benchmark::DoNotOptimize(codec->encode_changes_frame(parts, 100));
  }
  state.SetItemsProcessed(state.iterations() * 100);
}
BENCHMARK(BM_EncodeChangeBatchOf100);

void BM_SpliceEncodedBatchOf100(benchmark::State& state) {
  // What fan-out costs per subscriber: changes are encoded once, frames are spliced.
  auto codec = protocol::make_json_codec();
  std::vector<std::string> encoded;
  for (const auto& change : sample_changes(100))
    encoded.push_back(codec->encode_change(change));
  std::vector<std::string_view> parts(encoded.begin(), encoded.end());
  for (auto _ : state)
    benchmark::DoNotOptimize(codec->encode_changes_frame(parts, 100));
  state.SetItemsProcessed(state.iterations() * 100);
}
BENCHMARK(BM_SpliceEncodedBatchOf100);

void BM_DecodePushOf100(benchmark::State& state) {
  auto codec = protocol::make_json_codec();
  protocol::Push push;
  for (const auto& change : sample_changes(100)) {
    push.mutations.push_back({change.seq, sync::Mutation{change.table, sync::Op::insert, change.pk,
                                                         change.row, change.stamp}});
  }
  auto frame = codec->encode(protocol::ClientMessage{push});
  for (auto _ : state)
    benchmark::DoNotOptimize(codec->decode(frame));
  state.SetItemsProcessed(state.iterations() * 100);
}
BENCHMARK(BM_DecodePushOf100);

void BM_DecodeChangesFrameOf100(benchmark::State& state) {
  // What a client SDK does with every frame it receives.
  auto codec = protocol::make_json_codec();
  std::vector<std::string> encoded;
  for (const auto& change : sample_changes(100))
    encoded.push_back(codec->encode_change(change));
  std::vector<std::string_view> parts(encoded.begin(), encoded.end());
  auto frame = codec->encode_changes_frame(parts, 100);
  for (auto _ : state)
    benchmark::DoNotOptimize(codec->decode_server(frame));
  state.SetItemsProcessed(state.iterations() * 100);
}
BENCHMARK(BM_DecodeChangesFrameOf100);

void BM_VerifyHs256Token(benchmark::State& state) {
  auth::JwtOptions options;
  options.hs256_secret = "benchmark-secret-0123456789abcdef0123456789";
  auto minter = auth::TokenMinter::create(options);
  auto verifier = auth::TokenVerifier::create(options);
  auto token = (*minter)->mint(
      auth::MintRequest{"alice", auth::Role::user, std::nullopt, std::chrono::hours(1)});
  for (auto _ : state)
    benchmark::DoNotOptimize((*verifier)->verify(*token));
}
BENCHMARK(BM_VerifyHs256Token);

// A fresh RSA-2048 key pair in PEM files, removed with the object.
class RsaKeyFiles {
 public:
  RsaKeyFiles() {
    auto dir = std::filesystem::temp_directory_path() /
               ("tandem-micro-bench-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    m_dir = dir.string();
    EVP_PKEY* key = EVP_RSA_gen(2048);
    if (!key) throw std::runtime_error("RSA key generation failed");
    FILE* private_file = std::fopen(private_path().c_str(), "w");
    FILE* public_file = std::fopen(public_path().c_str(), "w");
    bool written = private_file && public_file &&
                   PEM_write_PrivateKey(private_file, key, nullptr, nullptr, 0, nullptr, nullptr) &&
                   PEM_write_PUBKEY(public_file, key);
    if (private_file) std::fclose(private_file);
    if (public_file) std::fclose(public_file);
    EVP_PKEY_free(key);
    if (!written) throw std::runtime_error("cannot write the RSA key files");
  }
  ~RsaKeyFiles() {
    std::error_code ignored;
    std::filesystem::remove_all(m_dir, ignored);
  }
  RsaKeyFiles(const RsaKeyFiles&) = delete;
  RsaKeyFiles& operator=(const RsaKeyFiles&) = delete;
  std::string private_path() const { return m_dir + "/private.pem"; }
  std::string public_path() const { return m_dir + "/public.pem"; }

 private:
  std::string m_dir;
};

void BM_VerifyRs256Token(benchmark::State& state) {
  // Generated once: Google Benchmark calls this function several times.
  static const RsaKeyFiles keys;
  auth::JwtOptions minting;
  minting.private_key_file = keys.private_path();
  auth::JwtOptions verifying;
  verifying.public_key_file = keys.public_path();
  auto minter = auth::TokenMinter::create(minting);
  auto verifier = auth::TokenVerifier::create(verifying);
  if (!minter || !verifier) {
    state.SkipWithError("cannot load the RSA keys");
    return;
  }
  auto token = (*minter)->mint(
      auth::MintRequest{"alice", auth::Role::user, std::nullopt, std::chrono::hours(1)});
  if (!token || !(*verifier)->verify(*token)) {
    state.SkipWithError("the RS256 token does not verify");
    return;
  }
  for (auto _ : state)
    benchmark::DoNotOptimize((*verifier)->verify(*token));
}
BENCHMARK(BM_VerifyRs256Token);

}  // namespace
}  // namespace tandem

BENCHMARK_MAIN();
