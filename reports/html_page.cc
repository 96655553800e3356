#include "reports/html_page.h"

#include <fmt/format.h>
#include <unistd.h>

#include <fstream>
#include <random>
#include <stdexcept>

namespace faultline {
namespace {

// "</" would end a <script> or <style> element early; "<\/" means the same in
// JSON strings and JS string literals, and nothing else in them contains "</".
std::string EscapeEndTags(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    out += text[i];
    if (text[i] == '<' && i + 1 < text.size() && text[i + 1] == '/') out += '\\';
  }
  return out;
}

std::string EscapeHtml(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

}  // namespace

std::string RenderHtmlPage(const HtmlPage& page) {
  std::string html = fmt::format(
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{}</title>\n",
      EscapeHtml(page.title));
  for (std::string_view css : page.styles) html += fmt::format("<style>\n{}\n</style>\n", EscapeEndTags(css));
  html += "</head>\n<body>\n<div id=\"app\"></div>\n<script type=\"application/json\" id=\"faultline-data\">";
  html += EscapeEndTags(page.data.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  html += "</script>\n";
  for (std::string_view js : page.scripts) html += fmt::format("<script>\n{}\n</script>\n", EscapeEndTags(js));
  html += "</body>\n</html>\n";
  return html;
}

void WriteTextFile(const std::filesystem::path& path, std::string_view content) {
  // A name of this process's own: two runs may refresh one store's index.html at once.
  const std::filesystem::path tmp = fmt::format("{}.tmp.{}.{}", path.string(), ::getpid(), std::random_device{}());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    out.close();
    if (!out) throw std::runtime_error(fmt::format("cannot write {}", tmp.string()));
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::filesystem::remove(tmp, ec);
    throw std::runtime_error(fmt::format("cannot rename {} to {}: {}", tmp.string(), path.string(), ec.message()));
  }
}

}  // namespace faultline
