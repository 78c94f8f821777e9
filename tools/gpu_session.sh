#!/usr/bin/env bash
# A session on a lent GPU machine, in two halves, because that machine has
# CUDA but no package access (no Boost, no yaml-cpp, no apt):
#
#   tools/gpu_session.sh pack     here: build the GPU tests, bench_gemv and
#                                 policyctl for sm_90 into build-dev/, and copy
#                                 them with the shared libraries they need into
#                                 .devcarry/ (git-ignored; carried to the GPU)
#   tools/gpu_session.sh run [STEP...]
#                                 there: run the GPU tests, the benchmarks and
#                                 `policyctl record` (steps: tests bench prefill
#                                 record runtime sass models fp8torch ncu;
#                                 default all but models, fp8torch and ncu), everything under $OUT:
#       device.txt        nvidia-smi (driver, GPU, clocks as found)
#       gpu_tests.log     every GPU test program's output
#       bench_gemv.md     bench_gemv --out (YAML front matter + markdown tables)
#       bench_gemv.log    its stdout
#       record.yaml       policyctl record --out (the parity record)
#       bench_prefill.md  bench_prefill --out, and .log
#       fp8_prefill_torch.md, compare_fp8.md
#                         with `fp8torch` (not in the default steps: needs
#                         torch on the device): tools/bench/fp8_prefill_torch.py
#                         --out, and compare_fp8.py's join with bench_prefill.md
#       runtime.log       policyctl explain and run on this GPU (default policy,
#                         then FP16 prefill + HGEMM decode, then unbatched prefill)
#       sass_check.txt    16-byte loads and DP4A in the hot kernels' SASS
#       ncu.log           with `ncu`: Nsight Compute sections for one launch per kernel
#       record.yaml       with `models`: the record with both real models' rows
#       models.log        with `models`: policyctl run --model for each q4k
#                         variant on both models, and a start with the model
#                         gate. The models come in .models/ as split parts
#                         (the device has no network): gemma.part*, smol.part*
# A short summary comes last on stdout; then everything under $OUT is packed into
# $OUT/session.tgz (the device tool returns at most 8 files). Never changes the GPU's settings.
set -uo pipefail
cd "$(dirname "$0")/.."
CARRY=.devcarry

pack() {
  set -e
  cmake -S . -B build-dev -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES=90 > /dev/null
  local tests
  tests=$(grep -ho 'kpolicy_add_test([a-z0-9_]*' tests/gpu/CMakeLists.txt | sed 's/kpolicy_add_test(//')
  # shellcheck disable=SC2086
  cmake --build build-dev -j"$(nproc)" --target $tests bench_gemv bench_prefill policyctl
  rm -rf "$CARRY" && mkdir -p "$CARRY/bin" "$CARRY/lib" "$CARRY/obj"
  for t in $tests; do cp "build-dev/tests/gpu/$t" "$CARRY/bin/"; done
  cp build-dev/tools/bench/bench_gemv build-dev/tools/bench/bench_prefill build-dev/tools/policyctl/policyctl "$CARRY/bin/"
  cp build-dev/kernels/CMakeFiles/kpolicy_kernels.dir/cuda/*.cu.o "$CARRY/obj/"
  # The non-system shared libraries (Boost, yaml-cpp, this compiler's libstdc++).
  ldd "$CARRY"/bin/* | awk '/=> \// {print $3}' | sort -u |
    grep -E 'boost|yaml|libstdc\+\+|libgcc_s' | xargs -r -I{} cp -L {} "$CARRY/lib/"
  du -sh "$CARRY"
}

step() {  # step NAME TIMEOUT_S LOG CMD...: runs, tees, records the status
  local name=$1 limit=$2 log=$3
  shift 3
  echo "=== $name ($(($(date +%s) - start)) s)"
  timeout "$limit" "$@" 2>&1 | tee -a "$log"
  status[$name]=${PIPESTATUS[0]}
}

run() {
  OUT="${OUT:-$PWD/gpu_out}"
  mkdir -p "$OUT"
  export LD_LIBRARY_PATH="$PWD/$CARRY/lib:/usr/local/cuda/lib64${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  export PATH=/usr/local/cuda/bin:$PATH
  start=$(date +%s)
  declare -gA status
  nvidia-smi > "$OUT/device.txt" 2>&1
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm,clocks.mem,power.limit,temperature.gpu \
    --format=csv >> "$OUT/device.txt" 2>&1
  local steps=" ${*:-tests bench prefill record runtime sass} "
  wants() { [[ "$steps" == *" $1 "* ]]; }
  local gemma="" smol=""
  if wants models || wants tests; then
    # The models arrive split (a call carries at most 64 MiB) in
    # $MODEL_PARTS (default .models/): gemma.part*, smol.part*. A model whose
    # parts do not reassemble to the sha256 tools/fetch_models.sh pins is
    # left out, and says so.
    local parts="${MODEL_PARTS:-.models}"
    export KPOLICY_MODEL_DIR="$PWD/.models-assembled"
    mkdir -p "$KPOLICY_MODEL_DIR"
    assemble() {  # assemble PREFIX FILE SHA256: prints FILE when it checks out
      local out="$KPOLICY_MODEL_DIR/$2"
      ls "$parts/$1".part* > /dev/null 2>&1 || return 0
      cat "$parts/$1".part* > "$out"
      if [ "$(sha256sum "$out" | cut -d' ' -f1)" = "$3" ]; then echo "$out"; else echo "models: $2 sha256 mismatch" >&2; fi
    }
    gemma=$(assemble gemma gemma-3-270m-q4_k_m.gguf a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818)
    smol=$(assemble smol SmolLM2-135M-Instruct.Q4_1.gguf b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53)
    echo "models: gemma=${gemma:-absent} smol=${smol:-absent}" | tee "$OUT/models.txt"
  fi
  if wants tests; then
    for t in "$CARRY"/bin/gpu_*; do
      step "$(basename "$t")" 150 "$OUT/gpu_tests.log" "$t" --log_level=test_suite --report_level=short
    done
  fi
  wants bench && step bench 240 "$OUT/bench_gemv.log" "$CARRY/bin/bench_gemv" --out "$OUT/bench_gemv.md"
  wants prefill && step bench_prefill 300 "$OUT/bench_prefill.log" "$CARRY/bin/bench_prefill" --out "$OUT/bench_prefill.md"
  if wants fp8torch; then
    # PyTorch's FP8/FP16 prefill GEMMs on the same GPU, then the joined table
    # (needs python3 with torch there; after `prefill` in the same call).
    step fp8_prefill_torch 240 "$OUT/fp8_prefill_torch.log" python3 tools/bench/fp8_prefill_torch.py \
      --out "$OUT/fp8_prefill_torch.md"
    step compare_fp8 30 "$OUT/compare_fp8.log" python3 tools/bench/compare_fp8.py "$OUT/bench_prefill.md" \
      "$OUT/fp8_prefill_torch.md" --tokens 128,512,2048 --out "$OUT/compare_fp8.md"
  fi
  if wants models; then
    local model_args=()
    [ -n "$gemma" ] && model_args+=(--model "$gemma")
    [ -n "$smol" ] && model_args+=(--model "$smol")
    step record 420 "$OUT/record.log" "$CARRY/bin/policyctl" record --out "$OUT/record.yaml" "${model_args[@]}"
  elif wants record; then
    step record 240 "$OUT/record.log" "$CARRY/bin/policyctl" record --out "$OUT/record.yaml"
  fi
  # The runtime as a server starts it, on this GPU: the default policy, then
  # the other prefill and decode paths the knobs switch.
  local ctl="$CARRY/bin/policyctl"
  if wants runtime; then
    step explain 60 "$OUT/runtime.log" "$ctl" explain --contracts contracts --color never
    step run_qwen 120 "$OUT/runtime.log" "$ctl" run --log
    step run_llama 180 "$OUT/runtime.log" "$ctl" run --model llama-3-8b --layers 4 --tokens 32
    step run_f16_hgemm 180 "$OUT/runtime.log" "$ctl" run --model llama-3-8b --layers 4 --tokens 32 \
      --env FP8_PREFILL=0 --env HGEMM_DECODE=1
    step run_unbatched 120 "$OUT/runtime.log" "$ctl" run --layers 2 --tokens 16 --prefill 64 --env BATCHED_PREFILL=0
  fi
  if wants models; then
    # Each q4k variant side by side (the env overrides of the default policy),
    # Gemma as stored (Q4_K attn_output, Q6_K ffn_down) and SmolLM2 with
    # every matrix requantised to Q4_K; then a start with the model gate.
    local v flag
    for v in Legacy:WIDE_Q4K_DISABLE Wide:WIDE_Q4K Vectorized:VECTORIZED_Q4K MwvDp4a:DP4A_Q4K HwDp4a:HW_DP4A_Q4K Mwv:MWV_Q4K; do
      flag=${v#*:}
      [ -n "$gemma" ] && step "gemma_${v%%:*}" 120 "$OUT/models.log" "$ctl" run --model "$gemma" --prompt "Once upon a time there was a little" \
        --tokens 32 --env "$flag=1" --format json
      [ -n "$smol" ] && step "smol_${v%%:*}" 120 "$OUT/models.log" "$ctl" run --model "$smol" --prompt "Once upon a time there was a little" \
        --tokens 32 --requantize q4k --env "$flag=1" --format json
    done
    [ -n "$gemma" ] && step model_gate 120 "$OUT/models.log" env KPOLICY_GATE_MODEL="$gemma" "$ctl" run --log
  fi
  if wants ncu && command -v ncu > /dev/null; then
    # One launch of each kernel under Nsight Compute at the device's own clocks (never
    # locked: --clock-control none), after 5 launches of the same kernel (warm code, cold
    # weights: bench_gemv rotates copies > 3x L2). NCU_FILTERS: ';'-separated bench_gemv
    # --filter strings.
    local filters="${NCU_FILTERS:-q4k Mwv 4096x14336;q4k Mwv 14336x4096;q4k HwDp4a 4096x14336;q6k Mwv 4096x14336;q6k HwDp4a 4096x14336}"
    local IFS_old=$IFS f
    IFS=';'
    for f in $filters; do
      IFS=$IFS_old
      step "ncu ${f// /_}" 120 "$OUT/ncu.log" ncu --clock-control none --launch-skip 5 --launch-count 1 \
        -k 'regex:^(?!StreamRead).*' --section SpeedOfLight --section Occupancy --section LaunchStats \
        --section WarpStateStats --section MemoryWorkloadAnalysis --section SchedulerStats \
        "$CARRY/bin/bench_gemv" --filter "$f" --m 1 --gemv-only --replays 3
      IFS=';'
    done
    IFS=$IFS_old
  fi
  if wants sass && command -v cuobjdump > /dev/null; then
    for obj in q4k_hw_dp4a q6k_hw_dp4a q4k_mwv_dp4a q6k_dp4a fused_gate_up_q4k q4k_vectorized q4k_mwv_v3; do
      sass=$(cuobjdump -sass "$CARRY/obj/$obj.cu.o")
      echo "== $obj: $(grep -cE 'LDG\.E[.A-Z]*128' <<< "$sass") 16-byte LDG," \
           "$(grep -c 'IDP.4A' <<< "$sass") IDP.4A, $(grep -cE 'LDL|STL' <<< "$sass") LDL/STL"
    done > "$OUT/sass_check.txt" 2>&1
  fi
  echo
  echo "================ summary ($(($(date +%s) - start)) s) ================"
  for s in "${!status[@]}"; do printf '%-28s rc=%s\n' "$s" "${status[$s]}"; done
  tail -1 "$OUT/device.txt"
  grep -E "failure|No errors|error" "$OUT/gpu_tests.log" 2>/dev/null | tail -15
  grep -E "^stream read|^target |MET|MISSED" "$OUT/bench_gemv.log" 2>/dev/null | head -12
  tail -2 "$OUT/record.log" 2>/dev/null
  grep -E "^FP8 peak probe|^dense peak" "$OUT/bench_prefill.log" 2>/dev/null
  grep -E "^Summary" "$OUT/compare_fp8.md" 2>/dev/null
  grep -E "^(run|prefill|gate) " "$OUT/runtime.log" 2>/dev/null
  # The device tool returns at most 8 files from $OUT (a longer list is cut, silently for the
  # ones past it): everything goes back as one archive, session.tgz.
  tar czf /tmp/session.tgz -C "$OUT" . && find "$OUT" -mindepth 1 -delete && mv /tmp/session.tgz "$OUT/"
}

case "${1:-}" in
  pack) pack ;;
  run) shift; run "$@" ;;
  *) echo "usage: tools/gpu_session.sh pack | run [tests bench prefill record runtime sass]" >&2; exit 2 ;;
esac
