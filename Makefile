# tinygpt: one noweb source, tinygpt.nw, becomes a C trainer and a book.
#
#   make            tangle -> compile -> run -> weave -> typeset book/tinygpt.pdf
#   make check      build and run the Check tests in tests/, after
#                   make check-book, make check-sizes and valgrind
#   make test       the Check tests alone, plain and under ASan+UBSan
#   make check-book test that the book's build fails on LaTeX's problems and
#                   names their lines of tinygpt.nw, in a copy of this tree
#   make check-sizes  build the book at other model sizes, each in a copy of
#                   this tree, with STRICT=1 (tests/book-checks.sh)
#   make deps       apt-get install whatever Debian packages are missing
#   make bench      time a training step, C against PyTorch, at several sizes,
#                   and the cost of rebuilding (see bench/)
#   make check-torch  check the trainer's run record against PyTorch autograd
#   make deps-torch apt-get install python3-torch, for the two targets above
#   make html       the HTML edition, book/html/ (index.html and one page a
#                   chapter), from the same source and run as the PDF
#   make check-html open every page of it in headless Chromium and check it
#   make deps-html  apt-get install python3 and chromium, for make html and
#                   make check-html
#   make man        the manual page build/tinygpt.1 from man/tinygpt.1.md
#   make install    install the trainer, its manual page and the book under $(PREFIX)
#   make uninstall  remove them again
#   make clean      remove build/, book/tinygpt.pdf and book/html/
#
#   make V=1                    show the full commands
#   make STRICT=1               overfull boxes and false claims in the book fail
#   build/tinygpt [options] --claims   the book's claims that this run makes false
#   make DIMS='-DD_MODEL=64'    extra -D flags for the C code (forces a rebuild)
#   make bench DIMS='-DD_MODEL=64 -DD_FF=256'   the headline model of the bench
#                               (built apart, in build/bench/; build/ is untouched)

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DELETE_ON_ERROR:
.SUFFIXES:
MAKEFLAGS += --no-builtin-rules
# As many jobs as the machine has cores, unless the command line says -j:
# the C compiles, the weave and the pictures run side by side.  (A make
# that this one starts shares its jobs.)
ifeq ($(MAKELEVEL)$(findstring -j,$(MAKEFLAGS)),0)
  MAKEFLAGS += -j$(shell nproc 2>/dev/null || echo 2)
endif

NW      := tinygpt.nw
B       := build
BOOK    := book/tinygpt.pdf

# The root chunks of tinygpt.nw, each tangled to build/<name>.
ROOTS   := tinygpt.h tinygpt.c report.c main.c
TANGLED := $(addprefix $(B)/,$(ROOTS))
LIBOBJS := $(B)/tinygpt.o $(B)/report.o

# CFLAGS and LDLIBS can be changed on the command line (make CFLAGS=...) but
# not by the environment: -ffp-contract=off keeps the numbers bit for bit.
CFLAGS   = -std=c11 -O3 -g -Wall -Wextra -Wpedantic -Werror -ffp-contract=off -fno-math-errno
# report.c (the book's fragments, statistics and claims) is none of the
# training step: -Og compiles it in a fifth of -O3's time (0.8 s against
# 4.5 s), and the run record and fragments come out byte for byte the same,
# since neither level may change a floating-point result here (no
# fast-math, no contraction).  The last -O on the command line wins.
OPT_report = -Og
LDLIBS   = -lm
DIMS     ?=
override CPPFLAGS += $(DIMS)

# Expanded only when the tests are built, so `make deps` works before
# pkg-config and Check are installed.
CHECK_CFLAGS = $(shell pkg-config --cflags check)
CHECK_LIBS   = $(shell pkg-config --libs check)
TEST_SRCS    := $(wildcard tests/*.c)
TEST_HDRS    := $(wildcard tests/*.h)

BOOK_SRCS := $(wildcard book/*.sty book/*.cls book/*.tex book/*.bib)

MAN_PAGE  := $(B)/tinygpt.1

PREFIX  ?= /usr/local
DESTDIR ?=

# Every Debian package the build, the book and the tests need.  lmodern,
# tex-gyre and texlive-plain-generic are only Recommends of the TeX packages,
# and libc6-dev only a Recommends of gcc, so they are named here because
# `make deps` installs with --no-install-recommends.  The bibliography
# needs bibtex (texlive-binaries), natbib.sty and plainnat.bst
# (texlive-latex-base); texlive-latex-base depends on texlive-binaries and
# texlive-base, which are named anyway since the book runs bibtex.  The
# format is dumped with mylatexformat and the pictures are set alone with
# preview.sty: both come with texlive-latex-extra (preview through its
# dependency preview-latex-style).  python3 runs book/figures (and the
# HTML edition's scripts).
DEB_PACKAGES := make gcc libc6-dev pkg-config check valgrind noweb pandoc \
  texlive-latex-base texlive-latex-recommended texlive-latex-extra \
  texlive-fonts-recommended texlive-pictures texlive-plain-generic \
  texlive-base texlive-binaries lmodern tex-gyre poppler-utils \
  python3 chromium
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

# One line per step (none with make -s); V=1 shows the commands instead.
ifeq ($(V),1)
  Q   :=
  msg  = @:
else
  Q   := @
  msg  = $(if $(findstring s,$(firstword -$(MAKEFLAGS))),@:,@printf '%-6s %s\n' '$(1)' '$(2)')
endif

.PHONY: all check check-book check-sizes check-changes claims-sweep test deps man install uninstall clean bench check-torch deps-torch \
  html check-html deps-html
all: $(BOOK) $(MAN_PAGE)

# ---------------------------------------------------------------- flags
# build/flags holds the compiler command line; it is rewritten (when reading
# the Makefile) only when that line changes, so a new DIMS or CFLAGS
# recompiles everything and an unchanged one touches nothing.
FLAGS_LINE := $(strip $(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) $(LDLIBS) report:$(OPT_report))
ifneq ($(filter-out clean deps bench deps-torch deps-html,$(or $(MAKECMDGOALS),all)),)
  ifneq ($(FLAGS_LINE),$(strip $(file <$(B)/flags)))
    $(shell mkdir -p $(B))
    $(file >$(B)/flags,$(FLAGS_LINE))
  endif
endif

$(B):
	$(Q)mkdir -p $@

# Written when the Makefile is read; again here if a `make clean all`
# removed it in between.
$(B)/flags: | $(B)
	$(file >$@,$(FLAGS_LINE))

# ---------------------------------------------------------------- tangle
# One stamp tangles every root once per change of tinygpt.nw.  cpif leaves a
# file whose text did not change untouched, and the empty recipe below makes
# make re-read each file's time after the stamp.  Each root is written twice:
# build/<root> with #line directives, which is what the compiler reads, and
# build/<root>.code, the same code without them, which is what objects
# depend on.  A prose edit that adds or removes a line moves every later
# #line directive, but leaves the .code files alone, so it recompiles
# nothing (gdb's line numbers may then lag by the lines added, until the
# next code change or `make -B`).  A tangled file that has gone missing
# forces the stamp, and so does a change to this Makefile (cpif keeps the
# files that come out the same).  notangle exits non-zero on an unknown
# root or an undefined chunk; a root with no code in it (only blank lines)
# fails too.
#
# notangle -L keeps every line in the column it has in tinygpt.nw, so a
# chunk used inside a loop body comes out at the left margin, and the
# indentation before the use is left alone on a line of its own.  Plain
# notangle indents nested chunks properly but has no #line.  TANGLE_INDENT
# takes each code line from the plain output and the #line directives from
# the -L output: it reads the plain lines first, then the -L lines, drops
# the lines of indentation alone before a #line, and checks that the code
# lines of the two outputs are the same lines, but for leading blanks, one
# for one, or fails.
TANGLE_INDENT := NR == FNR { plain[++np] = $$0; next } \
  { lined[++nl] = $$0 } \
  END { j = 1; \
    for (i = 1; i <= nl; i++) { \
      s = lined[i]; \
      if (s ~ /^\#line /) { print s; continue } \
      if (s ~ /^[ \t]+$$/ && i < nl && lined[i + 1] ~ /^\#line /) continue; \
      a = s; b = plain[j]; sub(/^[ \t]+/, "", a); sub(/^[ \t]+/, "", b); \
      if (j > np || a != b) { \
        printf "tangle: line %d of notangle -L is not line %d of notangle\n", i, j > "/dev/stderr"; \
        exit 1 } \
      print plain[j++] } \
    if (j <= np) { printf "tangle: notangle has %d lines more than notangle -L\n", np - j + 1 > "/dev/stderr"; exit 1 } }

define tangle_one
$(call msg,TANGLE,$(B)/$(1))
$(Q)notangle -R'$(1)' $(NW) > $(B)/$(1).plain || { rm -f $(B)/$(1).plain; exit 1; }
$(Q)notangle -L -R'$(1)' $(NW) > $(B)/$(1).lined || { rm -f $(B)/$(1).plain $(B)/$(1).lined; exit 1; }
$(Q)grep -qv -e '^[[:space:]]*$$' $(B)/$(1).plain || { echo "$(NW): root chunk <<$(1)>> is missing or empty" >&2; rm -f $(B)/$(1).plain $(B)/$(1).lined; exit 1; }
$(Q)awk '$(TANGLE_INDENT)' $(B)/$(1).plain $(B)/$(1).lined > $(B)/$(1).tmp || { rm -f $(B)/$(1).plain $(B)/$(1).lined $(B)/$(1).tmp; exit 1; }
$(Q)cpif $(B)/$(1) < $(B)/$(1).tmp
$(Q)cpif $(B)/$(1).code < $(B)/$(1).plain
$(Q)rm -f $(B)/$(1).plain $(B)/$(1).lined $(B)/$(1).tmp

endef

CODE := $(addsuffix .code,$(TANGLED))

$(B)/tangle.stamp: $(NW) Makefile $(if $(filter-out $(wildcard $(TANGLED) $(CODE)),$(TANGLED) $(CODE)),FORCE) | $(B)
	$(foreach r,$(ROOTS),$(call tangle_one,$(r)))
	$(Q)touch $@

$(TANGLED) $(CODE): $(B)/tangle.stamp ;

.PHONY: FORCE
FORCE:

# ---------------------------------------------------------------- compile
$(B)/%.o: $(B)/%.c.code $(B)/tinygpt.h.code $(B)/flags | $(B)/%.c $(B)/tinygpt.h
	$(call msg,CC,$@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(OPT_$*) -c -o $@ $(B)/$*.c

$(B)/libtinygpt.a: $(LIBOBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@
	$(Q)$(AR) rcs $@ $^

$(B)/tinygpt: $(B)/main.o $(B)/libtinygpt.a
	$(call msg,LD,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# ---------------------------------------------------------------- run
# The trainer checks the gradients, then writes build/run.json and the
# book's fragments in build/run/.  It replaces each file atomically and
# writes nothing when the check fails, so the old fragments are not deleted
# first: a failing run leaves the previous fragments and book in place.
#
# It writes them to build/run.new/ first; a file whose text did not change
# is then left as it was in build/run/, time included, so that a change of
# the code that leaves the numbers alone (a comment, a faster loop)
# typesets no picture again.
$(B)/run.stamp: $(B)/tinygpt
	$(call msg,RUN,$(B)/run.json)
	$(Q)rm -rf $(B)/run.new && mkdir -p $(B)/run $(B)/run.new
	$(Q)$(B)/tinygpt --quiet --gradcheck --json $(B)/run.json --tex $(B)/run.new
	$(Q)cd $(B) && { diff -rq run.new run || [ $$? = 1 ]; } | \
	  sed -n 's|^Files run\.new/\(.*\) and run/.* differ$$|\1|p; s|^Only in run\.new: ||p' | \
	  while IFS= read -r f; do mv -f "run.new/$$f" "run/$$f"; done
	$(Q)rm -rf $(B)/run.new
	$(Q)touch $@

# ---------------------------------------------------------------- claims
# The trainer judges every claim of the book (build/tinygpt --claims, which
# reads tinygpt.nw for the lines of their sentences) and lists the false
# ones; they fail the build with STRICT=1.  A label used but never judged,
# or judged but never used, always fails.
$(B)/claims.txt: $(B)/tinygpt $(NW) $(B)/strict
	$(call msg,CLAIMS,$(B)/tinygpt --claims)
	$(Q)s=0; $(B)/tinygpt --claims > $@.tmp || s=$$?; cat $@.tmp >&2; \
	  if [ $$s -eq 1 -a '$(STRICT)' = 1 ]; then echo "CLAIMS: a false claim fails the build (STRICT=1)" >&2; fi; \
	  if [ $$s -gt 1 ] || [ $$s -eq 1 -a '$(STRICT)' = 1 ]; then rm -f $@.tmp; exit 1; fi
	$(Q)mv -f $@.tmp $@

# ---------------------------------------------------------------- weave
# book/index-filter drops the locals that noweb's C autodefs mistakes for
# definitions, so the identifier index lists only the program's names.
# book/line-filter writes build/tinygpt.nwlines, the line of tinygpt.nw where
# each chunk starts, with which book/latex-log maps a line of
# build/tinygpt.tex back to tinygpt.nw (see book/line-filter for how).
# book/figures then sets each picture apart in build/fig/N.tex, for make to
# typeset once per change (below), and the lines up to the end of the
# format's dump (\csname endofdump\endcsname) go to build/preamble.tex,
# rewritten only when they change.
$(B)/tinygpt.tex $(B)/tinygpt.nwlines &: $(NW) book/index-filter \
    book/line-filter book/figures | $(B)
	$(call msg,WEAVE,$(B)/tinygpt.tex)
	$(Q)noweave -delay -filter 'book/line-filter $(B)/tinygpt.nwlines.tmp' \
	  -autodefs c -filter book/index-filter -index $(NW) > $(B)/tinygpt.tex.tmp
	$(Q)book/figures $(B)/tinygpt.tex.tmp $(B)/fig $(B)/tinygpt.nwlines.tmp > $(B)/tinygpt.tex.fig
	$(Q)mv -f $(B)/tinygpt.nwlines.tmp $(B)/tinygpt.nwlines
	$(Q)rm -f $(B)/tinygpt.tex.tmp
	$(Q)mv -f $(B)/tinygpt.tex.fig $(B)/tinygpt.tex

# (As with the tangled files, a stamp stands for build/preamble.tex, which
# cpif leaves as it was when its text is the same.)
$(B)/preamble.stamp: $(B)/tinygpt.tex
	$(Q)awk '{ print } /endofdump/ { exit }' $(B)/tinygpt.tex | cpif $(B)/preamble.tex
	$(Q)grep -q endofdump $(B)/preamble.tex || { \
	  echo "$(NW): no \\csname endofdump\\endcsname in the preamble" >&2; exit 1; }
	$(Q)touch $@
$(B)/preamble.tex: $(B)/preamble.stamp ;

# ---------------------------------------------------------------- format
# build/book.fmt: the book's class and style, loaded once and dumped by
# mylatexformat, so that a pass of LaTeX does not spend 1.1 s loading them.
# It is made again only when the preamble up to the dump or the style
# changes.
$(B)/book.fmt: $(B)/preamble.tex book/tinygptbook.sty
	$(call msg,FORMAT,$@)
	$(Q)cd $(B) && $(TEX_ENV) pdflatex -ini -interaction=nonstopmode -halt-on-error \
	  -jobname=book '&pdflatex' mylatexformat.ltx preamble.tex > format.out 2>&1 || { \
	  tail -n 20 format.out >&2; echo "LaTeX failed on the format: see $(B)/book.log" >&2; exit 1; }

# ---------------------------------------------------------------- pictures
# Each picture build/fig/N.tex that book/figures set apart is typeset alone
# (book/figure.tex, in the book's format) to build/fig/N.pdf, again only
# when it, the format or the run's numbers change; the list of pictures is
# known only once the book is woven, so a second make builds them (the
# shell lists them: make's own $(wildcard) may remember the directory as it
# was before the weave).  pdflatex writes the PDF in build/fig/part/, and
# it is moved into place whole: the first pass of a clean build, which
# runs meanwhile, must see a picture whole or not at all.
FIG_DATA = $(wildcard $(B)/run/*.dat) $(B)/run/macros.tex $(B)/run/values.tex
$(B)/figs.stamp: $(B)/tinygpt.tex $(B)/run.stamp $(B)/book.fmt book/figure.tex
	$(Q)figs=$$(cd $(B)/fig && ls | sed -n 's|^\([0-9]*\)\.tex$$|$(B)/fig/\1.pdf|p' | tr '\n' ' '); \
	  if [ -n "$$figs" ]; then $(MAKE) --no-print-directory FIGS="$$figs" figures; fi
	$(Q)touch $@

# (The pictures are built as prerequisites of this target, so that make
# says nothing of those already up to date.)
.PHONY: figures
figures: $(FIGS)
	@:

$(B)/fig/%.pdf: $(B)/fig/%.tex $(B)/book.fmt book/figure.tex $(FIG_DATA)
	$(call msg,FIGURE,$@)
	$(Q)mkdir -p $(B)/fig/part
	$(Q)cd $(B) && $(TEX_ENV) pdflatex -fmt=book -interaction=nonstopmode -halt-on-error \
	  -output-directory=fig/part -jobname=$* figure.tex > fig/part/$*.out 2>&1 || { \
	  awk -v nw="$$(cat fig/$*.line 2>/dev/null || echo 1)" '/^! / && !msg { msg = substr($$0, 3) } \
	    msg && /^l\.[0-9]+ / { sub(/^l\./, ""); print "$(NW):" nw + $$1 - 1 ": " msg; exit }' \
	    fig/part/$*.log >&2; rm -f fig/$*.pdf; \
	  echo "LaTeX failed on picture $* (its source: $(B)/fig/$*.tex): see $(B)/fig/part/$*.log" >&2; \
	  exit 1; }
	$(Q)mv -f $(B)/fig/part/$*.pdf $@

# ---------------------------------------------------------------- typeset
# book/typeset runs in build/, so the book \inputs the fragments as run/NAME
# and finds book/*.sty through TEXINPUTS; it sets the book as many times
# as its labels, contents and citations take to settle (one pass after a
# prose edit that moves no page), and runs bibtex, which finds
# book/tinygpt.bib through BIBINPUTS, when the citations change.
# book/latex-log then reads the log and shows, each at its line of
# tinygpt.nw (or of the fragment and its \input): errors (only the log's
# error lines), a group left open at \end{document}, undefined references or
# citations and missing files, all of which fail; and overfull boxes over
# 2pt, which fail only with STRICT=1.  On failure
# book/tinygpt.pdf is left as it was, the last good one.
# Each number a claim may use is a macro (run/values.tex): at d_model 64
# they and the maps need about 9M words of TeX's memory, beyond the 5M of
# pdfTeX's default, so extra_mem_top and extra_mem_bot (read from the
# environment, like max_print_line) add 5M words each.  TEX_ENV is that
# environment, for every run of TeX in build/ (the format, the pictures, the
# book).
TEX_ENV := TEXINPUTS=../book//: extra_mem_top=5000000 extra_mem_bot=5000000
TYPESET := $(TEX_ENV) BIBINPUTS=../book//: max_print_line=10000 ../book/typeset
STRICT ?=
LATEX_LOG = book/latex-log $(if $(filter 1,$(STRICT)),-s) $(B)/tinygpt.log \
  $(B)/tinygpt.tex $(B)/tinygpt.nwlines $(NW)

# build/strict holds the value of STRICT, rewritten only when it changes, so
# that make STRICT=1 checks again a book that make alone has just built.
ifneq ($(filter-out clean deps bench deps-torch deps-html,$(or $(MAKECMDGOALS),all)),)
  ifneq (STRICT=$(strip $(STRICT)),$(strip $(file <$(B)/strict)))
    $(shell mkdir -p $(B))
    $(file >$(B)/strict,STRICT=$(strip $(STRICT)))
  endif
endif
$(B)/strict: | $(B)
	$(Q)echo 'STRICT=$(strip $(STRICT))' > $@

# On a clean build the first pass, which only gathers the labels, contents
# and citations, runs while the pictures are typeset (it leaves a box where
# each will be); the book's passes then start from its .aux.  A first pass
# that fails leaves no .aux, and the book's own passes say why.
$(B)/tinygpt.aux: | $(B)/tinygpt.tex $(B)/run.stamp $(B)/book.fmt
	$(call msg,LATEX,$(B)/tinygpt.aux (a first pass))
	$(Q)cd $(B) && $(TYPESET) -1 tinygpt || rm -f tinygpt.aux

$(BOOK): $(B)/tinygpt.tex $(B)/tinygpt.nwlines $(B)/run.stamp $(B)/claims.txt $(B)/strict \
    $(B)/book.fmt $(B)/figs.stamp $(BOOK_SRCS) book/latex-log book/typeset | $(B)/tinygpt.aux
	$(call msg,LATEX,$@)
	$(Q)(cd $(B) && $(TYPESET) tinygpt) || { \
	  $(LATEX_LOG) && { tail -n 20 $(B)/tinygpt.passes; \
	    echo "LaTeX failed: see $(B)/tinygpt.log"; }; exit 1; } >&2
	$(Q)$(LATEX_LOG) >&2
	$(Q)cp $(B)/tinygpt.pdf $@

# ---------------------------------------------------------------- check
# Each test binary is linked from one object a file, so that the objects
# compile side by side (make runs a job per core) and an edit of one test
# file recompiles that file alone.
TEST_OBJS     := $(patsubst tests/%.c,$(B)/tests/%.o,$(TEST_SRCS))
SAN_TEST_OBJS := $(patsubst tests/%.c,$(B)/san/tests/%.o,$(TEST_SRCS))
SAN_LIB_OBJS  := $(B)/san/report.o $(B)/san/tinygpt.o

$(TEST_OBJS): $(B)/tests/%.o: tests/%.c $(TEST_HDRS) $(B)/tinygpt.h $(B)/flags
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS) -I$(B) $(CFLAGS) $(CHECK_CFLAGS) -c -o $@ $<

$(B)/check_tinygpt: $(TEST_OBJS) $(B)/libtinygpt.a $(B)/flags
	$(call msg,LD,$@)
	$(Q)test -n '$(TEST_SRCS)' || { echo "no tests/*.c" >&2; exit 1; }
	$(Q)$(CC) $(CFLAGS) $(CHECK_CFLAGS) $(LDFLAGS) -o $@ \
	  $(TEST_OBJS) $(B)/libtinygpt.a $(CHECK_LIBS) $(LDLIBS)

# The same tests, built again with AddressSanitizer and UndefinedBehavior-
# Sanitizer (any report is fatal), and the trainer run once under valgrind.
# The sanitized build is compiled at -O1, which comes after CFLAGS' -O3 and
# so replaces it: the sanitizers need no more than -O1's speed (-O1 is what
# AddressSanitizer's documentation suggests), and with -O3 the compilation
# of tinygpt.c, report.c and the tests took 52 s of CPU instead of 11, for a
# suite that runs in 21 s instead of 23.  The numbers are the same at either
# level, bit for bit (-ffp-contract=off), so the tests of exact reference
# values hold.
SAN_FLAGS := -O1 -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer

$(SAN_TEST_OBJS): $(B)/san/tests/%.o: tests/%.c $(TEST_HDRS) $(B)/tinygpt.h $(B)/flags
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS) -I$(B) $(CFLAGS) $(SAN_FLAGS) $(CHECK_CFLAGS) -c -o $@ $<

$(SAN_LIB_OBJS): $(B)/san/%.o: $(B)/%.c $(B)/tinygpt.h $(B)/flags
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(SAN_FLAGS) -c -o $@ $<

# report.c is the longest to compile (5 s), so it comes first.
$(B)/san/check_tinygpt: $(SAN_LIB_OBJS) $(SAN_TEST_OBJS) $(B)/flags
	$(call msg,LD,$@ (ASan+UBSan))
	$(Q)$(CC) $(CFLAGS) $(SAN_FLAGS) $(CHECK_CFLAGS) $(LDFLAGS) -o $@ \
	  $(SAN_TEST_OBJS) $(SAN_LIB_OBJS) $(CHECK_LIBS) $(LDLIBS)

VALGRIND := valgrind -q --error-exitcode=1 --leak-check=full --show-leak-kinds=all \
  --errors-for-leak-kinds=all

# make check-book runs tests/book-checks.sh: in a copy of this tree (no
# build/), a clean build passes with STRICT=1, and an unbalanced brace, an
# undefined reference, a missing fragment each fail, naming their line of
# tinygpt.nw, and leave the last good book in place, and a backward pass
# broken on purpose stops the book's run.  make check-sizes builds
# the book in copies at other model sizes (tests/book-checks.sh --sizes),
# each of which must pass with no overfull box (false claims are listed).  The copies' makes run with -j2.
check-book:
	$(call msg,CHECK,tests/book-checks.sh)
	$(Q)tests/book-checks.sh

check-sizes:
	$(call msg,CHECK,tests/book-checks.sh --sizes)
	$(Q)tests/book-checks.sh --sizes

# make check-changes applies each changes/NAME.patch (a change of the
# model's structure, constants, data or sizes) in a copy of this tree,
# builds the trainer and the book, and lists the claims the changed run
# makes false; the changed books are kept in build/changes/ to be read
# (tests/check-changes.sh; CHANGES="a b" picks some).
check-changes:
	$(call msg,CHECK,tests/check-changes.sh $(CHANGES))
	$(Q)tests/check-changes.sh $(CHANGES)

# make claims-sweep runs build/tinygpt --claims over a few hundred
# configurations near the book's (seeds, learning rates, steps, weight
# decay, betas, every sentence the vocabulary allows) and prints each
# claim's rate of failure (tests/claims-sweep).
claims-sweep: $(B)/tinygpt
	$(call msg,SWEEP,tests/claims-sweep)
	$(Q)tests/claims-sweep $(B)/tinygpt

# make test runs the Check suites alone, plain and sanitized, for the
# edit-test loop; make check runs the book's checks and valgrind first, then
# the same suites, so that Check's summary line is the last line of output.
# The two suites run side by side, each on a core: the plain one writes as
# it goes, the sanitized one into build/san/check.out (its standard output
# and error), which is shown after the plain one's has ended, so the output
# is that of the one run after the other.  Either failing fails the step,
# once both have ended and shown their output.
check_line = $(patsubst @%,%,$(call msg,$(1),$(2)))
define check_suites
	$(call msg,CHECK,$(B)/check_tinygpt)
	$(Q)ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  $(B)/san/check_tinygpt > $(B)/san/check.out 2>&1 & san=$$!; \
	plain=0; $(B)/check_tinygpt || plain=$$?; \
	sanitized=0; wait $$san || sanitized=$$?; \
	$(call check_line,CHECK,$(B)/san/check_tinygpt (ASan+UBSan)); \
	cat $(B)/san/check.out; \
	[ $$plain -eq 0 ] && [ $$sanitized -eq 0 ]
endef

check: check-book check-sizes $(B)/check_tinygpt $(B)/san/check_tinygpt $(B)/tinygpt
	$(call msg,VALGRIND,$(B)/tinygpt --steps 3)
	$(Q)rm -rf $(B)/vg && mkdir -p $(B)/vg
	$(Q)$(VALGRIND) $(B)/tinygpt --quiet --steps 3 --json $(B)/vg.json --tex $(B)/vg
	$(check_suites)

# (make runs as many jobs as there are cores, see the top: the objects of
# the two test binaries compile side by side.)
test: $(B)/san/check_tinygpt $(B)/check_tinygpt $(B)/tinygpt
	$(check_suites)

# ---------------------------------------------------------------- bench
# make bench times a training step (forward, zero_grad, backward, AdamW) of
# the book's model -- or of the model DIMS describes -- and, for the scaling
# table, of d_model 16, 32, 64 and 128 with d_ff = 4 d_model and 2 heads,
# next to the same model in PyTorch when python3-torch is installed; then the
# time of make from clean and after edits, in a copy of this tree.
# bench/bench.sh compiles each size from the tangled sources with the
# trainer's CFLAGS, in build/bench/, so the main build is left alone.
# BENCH_REBUILD=0 skips the rebuild timings.
BENCH_REBUILD ?= 1
bench: $(TANGLED)
	$(call msg,BENCH,bench/bench.sh)
	$(Q)BENCH_CC='$(CC)' BENCH_CFLAGS='$(CFLAGS)' BENCH_LDLIBS='$(LDLIBS)' BENCH_DIMS='$(DIMS)' \
	  BENCH_REBUILD_SRC='$(if $(filter 1,$(BENCH_REBUILD)),$(CURDIR))' bench/bench.sh $(B)

# make check-torch runs the trainer's default run and compares its record --
# the initial parameters, the loss, every activation and gradient, the first
# AdamW step, the loss curve -- with PyTorch; beyond 1e-9 relative it fails.
# Without PyTorch it fails too, since the comparison is its whole purpose.
check-torch: $(B)/tinygpt
	$(call msg,RUN,$(B)/torch/run.json)
	$(Q)mkdir -p $(B)/torch
	$(Q)$(B)/tinygpt --quiet --json $(B)/torch/run.json
	$(call msg,TORCH,bench/check_torch.py $(B)/torch/run.json)
	$(Q)py=$$(bench/torch-python) || { \
	  echo "check-torch: PyTorch is not installed: install Debian's python3-torch (make deps-torch)" >&2; \
	  exit 1; }; \
	"$$py" -B bench/check_torch.py $(B)/torch/run.json

# ---------------------------------------------------------------- deps
deps:
	$(Q)missing=$$(for p in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}\n' "$$p" 2>/dev/null | grep -qx 'install ok installed' || echo "$$p"; \
	  done); \
	if [ -z "$$missing" ]; then \
	  echo "DEPS   all $(words $(DEB_PACKAGES)) Debian packages are installed"; \
	else \
	  echo "DEPS   installing" $$missing; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -q; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	fi

# python3-torch is not in DEB_PACKAGES: only make bench and make check-torch
# use it, and it is large.
deps-torch:
	$(Q)if dpkg-query -W -f='$${Status}\n' python3-torch 2>/dev/null | grep -qx 'install ok installed'; then \
	  echo "DEPS   python3-torch is installed"; \
	else \
	  echo "DEPS   installing python3-torch"; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -q; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends python3-torch; \
	fi

# ---------------------------------------------------------------- html
# The HTML edition.  book/htmlweave is a noweb back end: it reads noweb's
# markup of tinygpt.nw (through the PDF's filters, book/index-filter among
# them), writes each code chunk as HTML, and has pandoc (--mathml, with the
# filter book/html.lua) convert the documentation, the run's values looked
# up in build/run/, never recomputed.  The numbers of chapters, sections,
# figures, references, citations and chunks are the PDF's, read from its
# .aux (the answers from its .ans, the bibliography from its .bbl), and the
# figures are the woven book typeset again with preview.sty and that .aux,
# one page a figure, made SVG by pdftocairo.  So the HTML depends on the
# PDF, and `make html` brings a change of code or prose to both editions.
# book/html/ is replaced whole only when the build succeeds.
HTML_DIR  := book/html
HTML_SRCS := book/htmlweave book/html.lua book/html.css

$(HTML_DIR)/index.html: $(NW) $(BOOK) $(B)/run.stamp $(HTML_SRCS)
	$(call msg,HTML,$(HTML_DIR)/)
	$(Q)rm -rf $(B)/html.out
	$(Q)book/htmlweave $(NW) $(B) $(B)/html.out
	$(Q)rm -rf $(HTML_DIR) && mv $(B)/html.out $(HTML_DIR)

html: $(HTML_DIR)/index.html

# make check-html opens every page in headless Chromium, at a desktop's and
# a phone's width (book/html-check says what it checks).  Chromium and
# python3 (the standard library only, for book/htmlweave and
# book/html-check) are in DEB_PACKAGES with everything else make html uses
# (pandoc, pdftocairo, LaTeX with preview.sty), so that .ci/run checks the
# HTML edition too.
check-html: $(HTML_DIR)/index.html
	$(call msg,CHECK,book/html-check $(HTML_DIR))
	$(Q)book/html-check $(HTML_DIR) $(B)/html-check $(BOOK)

# make deps installs chromium and python3 with the rest (see DEB_PACKAGES);
# deps-html is kept as another name for it.
deps-html: deps

# ---------------------------------------------------------------- man, install, clean
# The page's defaults and limits come from the trainer's --help, which
# prints them from config_default, so they are defined once, in the code.
# MAN_VALUES reads the help into NAME<TAB>VALUE lines: each "(default V)"
# gives NAME (the option's long name, e.g. steps), each range "A to B" gives
# NAME_min and NAME_max, and "up to N words" gives NAME_words.  MAN_SUBST
# replaces every @NAME@ in the page; one left over is an error.
MAN_VALUES := match($$0, /--[a-z0-9-]+/) { o = substr($$0, RSTART + 2, RLENGTH - 2) } \
  match($$0, /\(default [^)]*\)/) { v = substr($$0, RSTART + 9, RLENGTH - 10); \
    gsub(/"/, "", v); print o "\t" v } \
  match($$0, /[0-9]+ to [0-9]+/) { split(substr($$0, RSTART, RLENGTH), r, / to /); \
    print o "_min\t" r[1]; print o "_max\t" r[2] } \
  match($$0, /up to [0-9]+ words/) { split(substr($$0, RSTART, RLENGTH), r, / /); \
    print o "_words\t" r[3] }
MAN_SUBST := NR == FNR { v["@" $$1 "@"] = $$2; next } \
  { for (k in v) while ((i = index($$0, k)) > 0) \
      $$0 = substr($$0, 1, i - 1) v[k] substr($$0, i + length(k)); print }

$(B)/tinygpt.1: man/tinygpt.1.md $(B)/tinygpt | $(B)
	$(call msg,MAN,$@)
	$(Q)$(B)/tinygpt --help | awk '$(MAN_VALUES)' > $@.values
	$(Q)awk -F'\t' '$(MAN_SUBST)' $@.values $< > $@.md
	$(Q)if grep -o '@[A-Za-z0-9_-]*@' $@.md | sort -u | sed 's|^|$<: $(B)/tinygpt --help gives no value for |' | grep . >&2; \
	  then rm -f $@.md $@.values; exit 1; fi
	$(Q)pandoc -s -f markdown-smart -t man $@.md -o $@.tmp
	$(Q)rm -f $@.md $@.values
	$(Q)mv -f $@.tmp $@

man: $(B)/tinygpt.1

install: $(B)/tinygpt $(MAN_PAGE) $(BOOK)
	$(call msg,INSTALL,$(DESTDIR)$(PREFIX)/bin/tinygpt)
	$(Q)install -D -m 0755 $(B)/tinygpt $(DESTDIR)$(PREFIX)/bin/tinygpt
	$(call msg,INSTALL,$(DESTDIR)$(PREFIX)/share/man/man1/tinygpt.1)
	$(Q)install -D -m 0644 $(MAN_PAGE) $(DESTDIR)$(PREFIX)/share/man/man1/tinygpt.1
	$(call msg,INSTALL,$(DESTDIR)$(PREFIX)/share/doc/tinygpt/tinygpt.pdf)
	$(Q)install -D -m 0644 $(BOOK) $(DESTDIR)$(PREFIX)/share/doc/tinygpt/tinygpt.pdf

uninstall:
	$(call msg,UNINSTALL,$(DESTDIR)$(PREFIX))
	$(Q)rm -f $(DESTDIR)$(PREFIX)/bin/tinygpt $(DESTDIR)$(PREFIX)/share/man/man1/tinygpt.1
	$(Q)rm -f $(DESTDIR)$(PREFIX)/share/doc/tinygpt/tinygpt.pdf
	$(Q)rmdir $(DESTDIR)$(PREFIX)/share/doc/tinygpt 2>/dev/null || true

clean:
	$(call msg,CLEAN,$(B)/ $(BOOK) $(HTML_DIR)/)
	$(Q)rm -rf $(B) $(BOOK) $(HTML_DIR)
