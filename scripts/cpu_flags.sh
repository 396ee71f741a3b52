# Sourced by install_llama.sh and build_llama_server.sh: the CPU's flags (part of every build's
# cache key) and the compiler flags that leave AMX out where /proc/cpuinfo lists it (K-quant
# models die with "Illegal instruction" in the AMX kernels on such VMs).
CPU_FLAGS=$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null || true)
EXTRA=""
if grep -qw 'amx_tile\|amx_int8\|amx_bf16' <<<"$CPU_FLAGS"; then
    EXTRA="-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"
fi
