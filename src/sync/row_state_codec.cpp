#include "sync/row_state_codec.h"

#include <nlohmann/json.hpp>

#include "common/value_json.h"

namespace tandem::sync {

std::string encode_row_state(const RowState& state) {
  nlohmann::json json = nlohmann::json::object();
  if (state.insert_stamp) json["i"] = state.insert_stamp->to_string();
  if (state.delete_stamp) json["d"] = state.delete_stamp->to_string();
  nlohmann::json stamps = nlohmann::json::object();
  for (const auto& [column, stamp] : state.stamps)
    stamps[column] = stamp.to_string();
  json["s"] = std::move(stamps);
  if (!state.exists && !state.values.empty()) json["g"] = to_json(state.values);
  return json.dump();
}

namespace {

Result<Stamp> stamp_from(const nlohmann::json& json) {
  if (json.is_string()) {
    if (auto stamp = Stamp::parse(json.get_ref<const std::string&>())) return *stamp;
  }
  return Error(ErrorCode::internal, "corrupt row metadata: bad stamp");
}

}  // namespace

Result<RowState> decode_row_state(std::string_view text, const Row* live_row) {
  auto json = nlohmann::json::parse(text, nullptr, false);
  if (!json.is_object()) return Error(ErrorCode::internal, "corrupt row metadata: not an object");
  RowState state;
  if (auto it = json.find("i"); it != json.end()) {
    auto stamp = stamp_from(*it);
    if (!stamp) return stamp.error();
    state.insert_stamp = *stamp;
  }
  if (auto it = json.find("d"); it != json.end()) {
    auto stamp = stamp_from(*it);
    if (!stamp) return stamp.error();
    state.delete_stamp = *stamp;
  }
  if (auto it = json.find("s"); it != json.end() && it->is_object()) {
    for (const auto& [column, item] : it->items()) {
      auto stamp = stamp_from(item);
      if (!stamp) return stamp.error();
      state.stamps.emplace(column, *stamp);
    }
  }
  if (live_row) {
    state.exists = true;
    state.values = *live_row;
    // A row present without an insert in its history was inserted before tracking (or by
    // an outside writer not yet folded): it counts as an insert at the zero stamp.
    if (!state.insert_stamp) state.insert_stamp = Stamp{};
  } else if (auto it = json.find("g"); it != json.end()) {
    auto ghost = row_from_json(*it);
    if (!ghost) return Error(ErrorCode::internal, "corrupt row metadata: bad ghost values");
    state.values = std::move(*ghost);
  }
  return state;
}

std::string encode_key(const std::vector<Value>& key) {
  nlohmann::json array = nlohmann::json::array();
  for (const auto& value : key)
    array.push_back(to_json(value));
  return array.dump();
}

}  // namespace tandem::sync
