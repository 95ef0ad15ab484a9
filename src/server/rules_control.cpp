#include "server/rules_control.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/logging.h"
#include "rules/permissions.h"
#include "rules/rules_file.h"

namespace tandem::server {
namespace {

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Error no_rules_file() {
  return Error(ErrorCode::config_invalid,
               "the server has no rules file: the owner-column default applies; start it with "
               "--rules FILE to manage permission rules");
}

Error starting() {
  return Error(ErrorCode::unavailable, "the server is starting: change the rules once it runs");
}

Result<PermissionsPtr> load(const rules::RulesOptions& options, const std::string& file) {
  if (file.empty()) return std::make_shared<const rules::Permissions>(options);
  auto rules = rules::read_rules_file(file);
  if (!rules) return rules.error();
  return std::make_shared<const rules::Permissions>(options, std::move(*rules));
}

// Writes `text` next to `file` and renames it over it: readers see the old file or the new
// one, never a part, and after a crash the file is one of them (the data is on disk before
// the rename, the rename before the answer). A symbolic link keeps pointing where it did: its
// target is written. The new file keeps the old one's permissions.
Status write_atomically(const std::string& file, std::string_view text) {
  std::error_code error;
  auto target = std::filesystem::weakly_canonical(file, error);
  if (error) target = file;
  auto temporary = target.string() + ".tmp";
  auto failed = [&](std::string_view what, int code) {
    std::filesystem::remove(temporary, error);
    return Error(ErrorCode::internal, fmt::format("cannot {} the rules file '{}': {}", what,
                                                  target.string(), std::strerror(code)));
  };
  int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return failed("write", errno);
  for (std::size_t written = 0; written < text.size();) {
    auto count = ::write(fd, text.data() + written, text.size() - written);
    if (count < 0 && errno == EINTR) continue;
    if (count <= 0) {
      int code = count < 0 ? errno : EIO;
      ::close(fd);
      return failed("write", code);
    }
    written += static_cast<std::size_t>(count);
  }
  if (::fsync(fd) != 0) {
    int code = errno;
    ::close(fd);
    return failed("write", code);
  }
  ::close(fd);
  if (auto old = std::filesystem::status(target, error); !error) {
    std::filesystem::permissions(temporary, old.permissions(), error);
  }
  if (::rename(temporary.c_str(), target.c_str()) != 0) return failed("replace", errno);
  if (int dir = ::open(target.parent_path().empty() ? "." : target.parent_path().c_str(),
                       O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
  return ok_status();
}

}  // namespace

RulesControl::RulesControl(const config::Config& config)
    : m_options(config.rules), m_file(config.rules_file), m_loaded_at_ms(now_ms()) {
  auto loaded = load(m_options, m_file);
  if (!loaded) throw loaded.error();
  m_current = std::move(*loaded);
  if (!m_file.empty()) {
    log::info("permission rules loaded",
              {{"file", m_file}, {"version", m_current->rules_version()}});
  }
}

PermissionsPtr RulesControl::current() const {
  std::lock_guard lock(m_mutex);
  return m_current;
}

RulesStatus RulesControl::status() const {
  std::lock_guard lock(m_mutex);
  return RulesStatus{m_file, m_current->rules_version(), m_loaded_at_ms, false};
}

Result<std::string> RulesControl::file_text() const {
  if (m_file.empty()) return no_rules_file();
  std::ifstream in(m_file, std::ios::binary);
  if (!in) {
    return Error(ErrorCode::config_invalid, fmt::format("cannot read rules file '{}'", m_file));
  }
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

void RulesControl::attach(storage::Datasource& datasource, ChangePublisher& publisher, Hub& hub,
                          MembershipIndex& memberships) {
  std::lock_guard lock(m_mutex);
  m_datasource = &datasource;
  m_publisher = &publisher;
  m_hub = &hub;
  m_memberships = &memberships;
}

bool RulesControl::attached() const {
  std::lock_guard lock(m_mutex);
  return m_publisher != nullptr;
}

Result<RulesStatus> RulesControl::reload() {
  if (m_file.empty()) return no_rules_file();
  std::lock_guard change(m_change_mutex);
  auto loaded = load(m_options, m_file);
  if (!loaded) {
    log::warn("rules reload refused; the rules in force stay",
              {{"file", m_file}, {"error", loaded.error().message()}});
    return loaded.error();
  }
  return apply(std::move(*loaded));
}

Result<RulesStatus> RulesControl::replace(std::string_view toml_text) {
  if (m_file.empty()) return no_rules_file();
  std::lock_guard change(m_change_mutex);
  if (!attached()) return starting();
  auto parsed = rules::parse_rules(toml_text, m_file);
  if (!parsed) return parsed.error();
  if (auto written = write_atomically(m_file, toml_text); !written) return written.error();
  return apply(std::make_shared<const rules::Permissions>(m_options, std::move(*parsed)));
}

Result<RulesStatus> RulesControl::apply(PermissionsPtr permissions) {
  {
    std::lock_guard lock(m_mutex);
    if (!m_publisher) return starting();
    if (permissions->rules_version() == m_current->rules_version()) {
      return RulesStatus{m_file, m_current->rules_version(), m_loaded_at_ms, false};
    }
  }
  // Between two batches: the memberships the new rules read are in the index before any
  // session evaluates a change with them.
  m_publisher->between_batches([&] {
    m_memberships->declare(permissions->membership_tables(), *m_datasource);
    m_hub->set_permissions(permissions);
  });
  std::lock_guard lock(m_mutex);
  m_current = std::move(permissions);
  m_loaded_at_ms = now_ms();
  log::info("permission rules changed",
            {{"file", m_file}, {"version", m_current->rules_version()}});
  return RulesStatus{m_file, m_current->rules_version(), m_loaded_at_ms, true};
}

}  // namespace tandem::server
