#!/usr/bin/env bash
# Fails, listing the files, when a C++ source differs from .clang-format.
# scripts/check-format.sh --fix rewrites them instead.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

mapfile -t files < <(find core storage actors net tools tests \
  \( -name '*.cpp' -o -name '*.hpp' \) -not -path '*/node_modules/*' | sort)

if [[ "${1:-}" == "--fix" ]]; then
  clang-format -i "${files[@]}"
  exit 0
fi

bad=()
for f in "${files[@]}"; do
  clang-format --dry-run --Werror "$f" >/dev/null 2>&1 || bad+=("$f")
done
if ((${#bad[@]} > 0)); then
  echo "not formatted (run scripts/check-format.sh --fix):"
  printf '  %s\n' "${bad[@]}"
  exit 1
fi
echo "format: ${#files[@]} files ok"
