#include "printable_output.h"

#include <string_view>

#include "kpolicy/printable.h"

namespace kpolicy::tools {

std::streambuf::int_type PrintableStreambuf::overflow(int_type c) {
  if (traits_type::eq_int_type(c, traits_type::eof())) return traits_type::not_eof(c);
  pending_ += traits_type::to_char_type(c);
  if (c == '\n') DrainLines();
  return c;
}

std::streamsize PrintableStreambuf::xsputn(const char* s, std::streamsize n) {
  pending_.append(s, static_cast<size_t>(n));
  DrainLines();
  return n;
}

int PrintableStreambuf::sync() {
  Drain(pending_.size());
  return sink_->pubsync();
}

void PrintableStreambuf::DrainLines() {
  const size_t last_newline = pending_.rfind('\n');
  if (last_newline != std::string::npos) Drain(last_newline + 1);
}

void PrintableStreambuf::Drain(size_t count) {
  const std::string_view text(pending_.data(), count);
  std::string out;
  size_t plain_from = 0;
  if (*styles_allowed_) {
    for (size_t i = text.find('\033'); i != std::string_view::npos; i = text.find('\033', i + 1)) {
      for (std::string_view style : terminal_style::kAll) {
        if (text.substr(i, style.size()) != style) continue;
        out += PrintableText(text.substr(plain_from, i - plain_from));
        out += style;
        plain_from = i + style.size();
        i = plain_from - 1;
        break;
      }
    }
  }
  out += PrintableText(text.substr(plain_from));
  sink_->sputn(out.data(), static_cast<std::streamsize>(out.size()));
  pending_.erase(0, count);
}

}  // namespace kpolicy::tools
