// Limits: every bound kpolicy puts on what it reads, in one place, each with
// the reason for its value. A hostile input (a huge file, a deep chain, an
// endless stream) meets one of these and is refused with an error that names
// the limit, quickly and in little memory, instead of exhausting the stack,
// the heap or the operator's patience. policies/README.md lists them for
// people ("Limits"); each has a test in tests/hostile/.
//
// The values are generous for real files: the repository's largest policy
// (policies/default.yaml) is 7.3 KB with 11 knobs, 5 rules, 20 overrides, a
// dependency depth of 3 and no expression longer than 80 characters.
//
// Header-only constants. Thread-safety: constants.
#ifndef KPOLICY_LIMITS_H_
#define KPOLICY_LIMITS_H_

#include <cstddef>
#include <cstdint>

namespace kpolicy::limits {

// ---- Policy files (YAML) ------------------------------------------------------

// A policy is a few KiB; 1 MiB is 140x default.yaml, and yaml-cpp's tree of
// a 1 MiB file stays well under 256 MiB.
inline constexpr size_t kPolicyFileBytes = size_t{1} << 20;
// 15x the longest line of any YAML file in the repository (538 bytes,
// contracts/parity/h100.yaml); longer is generated text, not a policy.
inline constexpr size_t kYamlLineBytes = 8 << 10;
// The policy language nests 5 levels at most; yaml-cpp's parser recurses
// per level, so flow nesting ([[[...) is refused before it parses.
inline constexpr int kYamlDepth = 16;
// Nodes in a document, aliases expanded (an anchor used ten times, nine
// levels deep, is a billion). yaml-cpp spends about 500 bytes a node, so
// the tree of a file at the limit stays far under 256 MiB.
inline constexpr size_t kYamlNodes = 50000;
// Files in an `extends:` chain, the policy itself included.
inline constexpr int kExtendsChain = 8;
// Diagnostics reported per load: after 50 a person fixes and reruns.
inline constexpr int kReportedErrors = 50;

// ---- Policy contents, after overlays are merged ---------------------------

// Each is 50-200x what default.yaml has. They bound the work of whatever
// handles one element per evaluation: `check` and lint evaluate the whole
// policy once per override (and value tried), so their cost grows with
// overrides times the policy's size.
inline constexpr size_t kFacts = 1000;
inline constexpr size_t kKnobs = 1000;
inline constexpr size_t kRules = 4000;      // all knobs together
inline constexpr size_t kOverrides = 1000;  // env overrides, all knobs together
// Members of one enum type: default.yaml's largest has 6. Member lookups
// are linear in it.
inline constexpr size_t kEnumMembers = 256;
// The longest chain of facts and knobs each reading the next: default.yaml's
// is 3 (fused_gate_up -> q4k -> has_dp4a). Tools that follow a chain
// (lint's read closure) recurse along it, so it is bounded well below any
// stack.
inline constexpr int kDependencyDepth = 64;

// ---- Expressions ------------------------------------------------------------

// Characters of one expression: 50x the longest in default.yaml.
inline constexpr size_t kExpressionBytes = 4 << 10;
// Nested parentheses, unary operators and calls.
inline constexpr int kExpressionDepth = 64;
// Levels of the syntax tree, flat chains such as 1+1+...+1 included (the
// compiler and evaluator recurse over it).
inline constexpr int kExpressionHeight = 256;
// Bytes of a string an evaluation produces (`+`, `str()`): names and
// versions are tens of bytes. Without it, 40 facts each doubling the last
// (`s + s`) ask for 2^40 bytes.
inline constexpr size_t kStringBytes = 4 << 10;

// ---- Lint's enumeration (policy_lint.h) ---------------------------------------

// Points (device x environment) of one analysis: 65x default.yaml's largest
// (1,536), about a second of evaluations of default.yaml.
inline constexpr size_t kLintPoints = 100000;
// Expression evaluations of one analysis, points times expressions per
// point: default.yaml's largest analysis makes about 100,000 (1,536 points,
// about 65 expressions); ten million is about a second at 100 ns each.
inline constexpr size_t kLintExpressionEvaluations = 10000000;

// ---- Inventories (fleet, diff) ---------------------------------------------------

// Inventories are far larger than policies and are not held to the 256 MiB
// of other input: `kubectl get nodes -o json` of 100,000 nodes is 218 MB
// (tools/bench/gen_inventory.py), and a plain YAML list of them is about
// 1.6 million YAML nodes. The bounds stop a file that never ends or a
// document that expands without end; memory grows with the file.
inline constexpr size_t kInventoryFileBytes = size_t{1} << 30;
inline constexpr size_t kInventoryYamlNodes = 50000000;  // aliases expanded
inline constexpr int kInventoryYamlDepth = 8;             // a plain inventory nests 3

// ---- Work of one command ------------------------------------------------------

// Units of evaluation work one command may spend, all its evaluations
// together (evaluation_budget.h: an expression node visited is a unit, a
// string copied or built one more per 64 bytes). The slowest unit measured
// is 24 ns, in a policy of 4,000 rules each comparing device.num_sms (a
// 100,000-line batch spends 1.2 billion units in 29 s of CPU), so 20 million
// is about half a second; a command stopped at the limit has used 0.5-0.8 s
// of CPU in all on the development machine under load (2 cores, x86-64;
// the work cases of tests/hostile, `hostile_test --log_level=message`). A
// batch of 100,000 cases of default.yaml spends at most 7.5 million (75 a
// case: engine_policy_test's a_full_batch_of_default_cases_fits_the_
// evaluation_budget measures it and holds it under half the limit).
inline constexpr uint64_t kEvaluationUnits = 20000000;

// ---- Evaluation inputs ---------------------------------------------------------

// Variables in one given environment (a batch line's `env`, --env flags).
// The process's own environment is read whatever its size, in O(n log n).
inline constexpr size_t kEnvironmentEntries = 4096;
// A batch line is one case: a device, a model and an environment;
// 64 KiB holds kEnvironmentEntries short variables.
inline constexpr size_t kBatchLineBytes = 64 << 10;
// Cases in one batch: a fleet of 100,000 nodes takes about 1 s
// (tools/bench/bench_engine measures the cost per case).
inline constexpr size_t kBatchLines = 100000;
// Nesting of a JSON document (batch lines, inventories): a batch case nests 3.
inline constexpr int kJsonDepth = 32;

}  // namespace kpolicy::limits

#endif  // KPOLICY_LIMITS_H_
