// One self-contained HTML page: inlined styles and scripts plus the page's
// data as JSON (reports/web/DATA.md). Used by report.html and the store index.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace faultline {

struct HtmlPage {
  std::string title;
  std::vector<std::string_view> styles;   // CSS, inlined in order
  std::vector<std::string_view> scripts;  // JS, inlined in order after the data
  nlohmann::json data;                    // <script type="application/json" id="faultline-data">
};

// The page's HTML. "</" inside the data and scripts cannot end their elements.
std::string RenderHtmlPage(const HtmlPage& page);

// Writes atomically (temp file + rename). Throws std::runtime_error naming the path.
void WriteTextFile(const std::filesystem::path& path, std::string_view content);

}  // namespace faultline
