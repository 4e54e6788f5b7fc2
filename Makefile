# btexport — PGXS build.  See README.md for the demo and test commands.
EXTENSION    = btexport
EXTVERSION   = 1.0
MODULE_big   = btexport

# Every .c under src/ is part of the extension; the plain-C cores
# (common, btql, format, s3) carry no PostgreSQL headers and are also built
# into standalone unit-test binaries under test/unit/.
SRCS         = $(sort $(wildcard src/*/*.c))
OBJS         = $(SRCS:.c=.o)
DATA_built   = sql/btexport--$(EXTVERSION).sql
INSTALL_PARTS = $(sort $(wildcard sql/install/*.sql))

PG_CPPFLAGS  = -Isrc -Isrc/common -Isrc/api -Isrc/runner -Isrc/s3 -Isrc/format -Isrc/btql -std=gnu11 $(shell xml2-config --cflags 2>/dev/null)
PG_CFLAGS    = -Wall -Wextra -Werror -Wno-unused-parameter -Wno-missing-field-initializers \
               -Wno-sign-compare
SHLIB_LINK   = -lcurl -lcrypto -ljansson -lxml2 -lzstd -lsnappy -lz -ldeflate -pthread

REGRESS      = $(patsubst sql/%.sql,%,$(filter-out sql/btexport--%,$(wildcard sql/*.sql)))
# pg_regress runs against a running server (PGHOST/PGPORT): test/run-all.sh starts one
REGRESS_OPTS = --inputdir=. --load-extension=btexport
EXTRA_CLEAN  = tmp_check results regression.diffs regression.out

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)
with_llvm = no

# the install script is assembled from its parts (one per subsystem)
sql/btexport--$(EXTVERSION).sql: $(INSTALL_PARTS)
	cat $^ > $@

.PHONY: unit fuzz test demo
# C unit tests of the plain-C cores under ASan/UBSan
unit:
	@set -e; for d in $(sort $(dir $(wildcard test/unit/*/Makefile))); do \
		$(MAKE) --no-print-directory -C $$d check; done

# bounded fuzzing of every parser (FUZZ_SECONDS each)
fuzz:
	@set -e; for d in $(sort $(dir $(wildcard test/fuzz/*/Makefile))); do \
		$(MAKE) --no-print-directory -C $$d fuzz; done

# everything: the README's test command
test:
	bash test/run-all.sh

demo:
	bash test/demo.sh
