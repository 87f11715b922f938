# Makevars for `make sanitize` (read through R_MAKEVARS_USER, after src/Makevars
# and R's Makeconf): AddressSanitizer + UBSan, any UBSan report is fatal,
# frame pointers for readable stacks, debug information kept (no strip).
SAN_FLAGS = -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
CXX17 := $(CXX17) $(SAN_FLAGS)
CXX17FLAGS = -g -O1
P4L_STRIP = no
