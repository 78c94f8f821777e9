// PrintableOutput: the filter every byte policyctl writes passes through.
// What it prints (names, values, file names, messages) comes from files,
// inventories and environments that an attacker may write; a knob named
// with an escape sequence must not clear the operator's screen or hide the
// error after it, whatever --color says. So text is escaped as
// printable.h's PrintableText does, line by line; the styles of kpolicy's
// own coloured output (printable.h's palette) pass only while the command
// says it colours its output.
//
// Thread-safety: one instance per stream, used by one thread.
#ifndef KPOLICY_TOOLS_PRINTABLE_OUTPUT_H_
#define KPOLICY_TOOLS_PRINTABLE_OUTPUT_H_

#include <streambuf>
#include <string>

namespace kpolicy::tools {

class PrintableStreambuf : public std::streambuf {
 public:
  // Writes to `sink`; `styles_allowed`, read as text is written, says
  // whether the palette's styles pass.
  PrintableStreambuf(std::streambuf* sink, const bool* styles_allowed)
      : sink_(sink), styles_allowed_(styles_allowed) {}
  ~PrintableStreambuf() override { Drain(pending_.size()); }

 protected:
  int_type overflow(int_type c) override;
  std::streamsize xsputn(const char* s, std::streamsize n) override;
  int sync() override;

 private:
  // Escapes and writes the first `count` bytes of `pending_`.
  void Drain(size_t count);
  // Whole lines go out as they complete: an escape sequence or a UTF-8
  // character never spans a newline, so none is cut in two.
  void DrainLines();

  std::streambuf* sink_;
  const bool* styles_allowed_;
  std::string pending_;
};

}  // namespace kpolicy::tools

#endif  // KPOLICY_TOOLS_PRINTABLE_OUTPUT_H_
