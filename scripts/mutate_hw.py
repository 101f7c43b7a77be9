#!/usr/bin/env python3
"""Mutation campaign over hw/: small named bugs, one at a time, against the tests that target each.

The repository (tracked and untracked-not-ignored files, without .venv and .git) is copied
once into a temporary directory per job; each mutation replaces one exact source snippet
there, the mutant is elaborated (a mutant that does not elaborate is *invalid*; the build's
netlist pass and plumbing are loaded and run instead), the listed
tests run from the copy with ``PYTHONPATH`` pointing at it (so ``import hw`` is the mutant,
checked before the first mutation), and the file is restored. First every list of tests
runs once on the unmutated copy (the baseline): one that fails there stops the campaign.
A mutation whose snippet is not found in the source is *invalid* and reported loudly (an
error, exit status 1): the list must stay true to the code. A mutation may name
``fallback`` tests (a System-level cocotb bench), run only when its fast tests pass.

    .venv/bin/python scripts/mutate_hw.py                 # all mutations
    .venv/bin/python scripts/mutate_hw.py --list
    .venv/bin/python scripts/mutate_hw.py --only engine-chunks-2-bits uart-rx-quarter-bit-early

Writes results/hw_mutations.{json,md} with the command, the machine, the date and the catch
rate (caught / valid). With ``--only`` the files are named hw_mutations_only.{json,md}, so a
partial run does not overwrite the whole campaign's results.
"""

import argparse
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sw.atomic import write_text  # noqa: E402
from sw.results import results_header  # noqa: E402

PYTHON = str(ROOT / ".venv" / "bin" / "python")
PYTEST = [PYTHON, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider"]

# Tests, by what they exercise (fast amaranth.sim tests; cocotb benches only with -k verilator).
ENGINE = ["tests/test_engine_layer.py", "tests/test_engine_chunks_counters.py",
          "tests/test_engine_program.py"]
ENGINE_ALL = ENGINE + ["tests/test_engine_tiling.py"]
EPILOGUE = ["tests/test_dual_scale_unit.py"]
DEVICE = ["tests/test_device_core.py"]
UART = ["tests/test_link_uart.py", "tests/test_link_echo.py"]
FRAMES = ["tests/test_link_frames.py", "tests/test_link_echo.py"]
POWER = ["tests/test_power_meter.py"]
XADC_MODEL = ["tests/test_power_xadc_model.py"]
XADC = ["tests/test_power_xadc.py"]
BOARD_CHECK_SIM = ["tests/test_board_check.py", "-k", "virtual"]
OUTREG = ["tests/test_output_registers.py"]
DSPREG = ["tests/test_dsp_registers.py"]
BUILD_PLAN = ["tests/test_build.py", "-k", "ulx3s_plan or router or seed"]
SYSTEM = ["sim/test_system.py", "-k", "link_conditions and verilator"]


@dataclass
class Mutation:
    name: str
    file: str
    old: str
    new: str
    description: str
    tests: list
    #: Why a survivor is not a bug (an equivalent mutant), or which other test catches it.
    note: str = ""
    #: Survivors handled elsewhere (the System-level link tests), not failures of this campaign.
    external: bool = False
    #: Slower tests run only when ``tests`` pass (a cocotb bench that sees what they cannot).
    fallback: tuple = ()


M = Mutation
MUTATIONS = [
    # --- Engine lane: words, offsets, steps, padding, banks, accumulators, counters. ---
    M("lane-eol-one-word-late", "hw/engine/lane.py",
      "(lcfg.word_base + lcfg.n_words - 2)", "(lcfg.word_base + lcfg.n_words - 1)",
      "a lane's last word for a step is one past its real last word", ENGINE),
    M("lane-fetch-skipped", "hw/engine/lane.py",
      "m.d.sync += [w_word.eq(Array(f_words)[f_block]), w_base.eq(f_base),",
      "m.d.sync += [w_word.eq(Array(w_reads)[w_block]), w_base.eq(f_base),",
      "the word register takes the block RAM's output a cycle late (the next word's)", ENGINE),
    M("lane-word-from-next-block", "hw/engine/lane.py",
      "w_word.eq(Array(f_words)[f_block])", "w_word.eq(Array(f_words)[w_block])",
      "the word is chosen from the block the next word is read from", ENGINE),
    M("lane-weight-write-every-block", "hw/engine/lane.py",
      "wr.en.eq(self.word_en & (self.word_addr[block_bits:] == k))",
      "wr.en.eq(self.word_en)",
      "a weight word is written into every block of the lane's memory", ENGINE),
    M("lane-weight-read-block-off-by-one", "hw/engine/lane.py",
      "ptr[block_bits:] == k,", "ptr[block_bits:] == k + 1,",
      "each weight block reads when the next block is addressed", ENGINE),
    M("engine-act-block-chosen-a-cycle-early", "hw/engine/layer_engine.py",
      "held_block.eq(read_block)", "held_block.eq(addr[row_bits:])",
      "an activation byte is taken from the block the next read addresses", ENGINE),
    M("engine-act-write-every-block", "hw/engine/layer_engine.py",
      "wp.en.eq(bank_we[b] & (bank_waddr[b][row_bits:] == j))", "wp.en.eq(bank_we[b])",
      "an activation byte is written into every block of its bank", ENGINE),
    M("engine-act-read-block-off-by-one", "hw/engine/layer_engine.py",
      "en & (addr[row_bits:] == j)", "en & (addr[row_bits:] == j + 1)",
      "each activation block reads when the next block is addressed", ENGINE),
    M("lane-held-stage-skipped", "hw/engine/lane.py",
      "r_bytes.eq(self.act_data), r_inb.eq(h_inb), r_rot.eq(h_rot),",
      "r_bytes.eq(self.act_data), r_inb.eq(s3_inb), r_rot.eq(s3_rot),",
      "the bytes' column mask and rotation are taken a stage early (the next word's)",
      ENGINE),
    M("lane-act-addr-without-in-base", "hw/engine/lane.py",
      "s1.base.eq(cfg.in_base + row + x0)", "s1.base.eq(row + x0)",
      "activation reads ignore the input map's base address", ENGINE),
    M("lane-pad-bottom-row-read", "hw/engine/lane.py",
      "row_hi.eq(_bound(cfg.h - s1.y0, ", "row_hi.eq(_bound(cfg.h + 1 - s1.y0, ",
      "the row below the map counts as inside (bottom zero padding read from memory)", ENGINE),
    M("lane-pad-left-column-skipped", "hw/engine/lane.py",
      "col_lo.eq(_bound(-s1.x0, ", "col_lo.eq(_bound(1 - s1.x0, ",
      "column 0 of the map is treated as padding", ENGINE),
    M("lane-pad-right-column-read", "hw/engine/lane.py",
      "col_hi.eq(_bound(cfg.w - s1.x0, ", "col_hi.eq(_bound(cfg.w + 1 - s1.x0, ",
      "the column right of the map counts as inside (right zero padding read from memory)",
      ENGINE),
    M("lane-bound-not-saturated", "hw/engine/lane.py",
      "Mux(beyond, top, value", "Mux(beyond, 0, value",
      "a window bound past the kernel's reach wraps to 0 instead of saturating", ENGINE),
    M("lane-row-test-top-ignored", "hw/engine/lane.py",
      "row_ok = (w_word.ky >= w_bounds.row_lo) & (", "row_ok = (",
      "rows above the map count as inside (top zero padding read from memory)", ENGINE),
    M("lane-zero-weight-reads", "hw/engine/lane.py",
      "& metas[2].cols[v] & (w_word.w != 0))",
      "& metas[2].cols[v])",
      "the placeholder word of a channel without weights reads the activation memory "
      "(counter only)", ENGINE),
    M("lane-acc-never-fresh", "hw/engine/lane.py",
      "new_p[v].eq(Mux(fresh, s5_p[v], acc_p[v] + s5_p[v]))",
      "new_p[v].eq(acc_p[v] + s5_p[v])",
      "P is not cleared at a channel's first word", ENGINE),
    M("lane-dense-ignores-weight", "hw/engine/lane.py",
      "r_factor.eq(Mux(ternary, 1, h_w))", "r_factor.eq(1)",
      "dense mode adds the activation without multiplying it by the weight", ENGINE),
    M("lane-p-ignores-columns", "hw/engine/lane.py",
      "keep = (r_inb[v] & r_plus).replicate", "keep = (r_plus).replicate",
      "P takes the byte of a column outside the map (padding not zero)", ENGINE),
    M("lane-p-ignores-sign", "hw/engine/lane.py",
      "keep = (r_inb[v] & r_plus).replicate", "keep = (r_inb[v]).replicate",
      "a negative ternary weight adds its byte to P as well as N", ENGINE),
    M("lane-pool-dx-step-1", "hw/engine/lane.py",
      "m.d.sync += [dx.eq(1), x0.eq(x0 + cfg.stride_w)]",
      "m.d.sync += [dx.eq(1), x0.eq(x0 + 1)]",
      "inside a pooling window the next column moves by 1 instead of the stride", ENGINE),
    M("lane-pool-dy-no-x-back", "hw/engine/lane.py",
      "x0.eq(x0 - Mux(dx, cfg.stride_w, 0))", "x0.eq(x0)",
      "the pooling window's second row does not return to the window's left column", ENGINE),
    M("lane-wide-next-group-by-stride", "hw/engine/lane.py",
      "x0.eq(x0 + Mux(narrow, cfg.stride_w, V))", "x0.eq(x0 + cfg.stride_w)",
      "a wide layer's next column group starts one column on instead of V", ENGINE),
    M("lane-group-span-ignores-pool", "hw/engine/lane.py",
      "span = Mux(narrow, 1, Mux(cfg.pool_w, V // 2, V))", "span = Mux(narrow, 1, V)",
      "a wide group with 2-wide pooling windows is taken to span V windows, not V / 2", ENGINE),
    M("lane-narrow-register-ignored", "hw/engine/lane.py",
      "narrow = cfg.narrow | (V == 1)", "narrow = Mux(V == 1, 1, 0)",
      "a strided layer runs wide (V columns from consecutive bytes)", ENGINE),
    M("lane-column-past-out-w", "hw/engine/lane.py",
      "Mux(narrow, v == 0, col < cfg.out_w)", "Mux(narrow, v == 0, col <= cfg.out_w)",
      "a step computes one column past the layer's last (counters only: it is never written)",
      ENGINE),
    M("lane-bank-row-no-carry", "hw/engine/lane.py",
      "self.act_addr[b].eq(s2_addr[bits:] + (b < lo))", "self.act_addr[b].eq(s2_addr[bits:])",
      "a wide read that crosses a bank row reads the banks before the first from the same row",
      ENGINE),
    M("lane-bank-row-carry-inverted", "hw/engine/lane.py",
      "s2_addr[bits:] + (b < lo)", "s2_addr[bits:] + (b >= lo)",
      "the banks from the first on read the next row, those before it the address's row",
      ENGINE),
    M("lane-read-enable-ignores-columns", "hw/engine/lane.py",
      "s2_read.eq(valid[2] & inb.any())", "s2_read.eq(valid[2])",
      "the banks read for every word, in the zero padding and for placeholder words too "
      "(counter only)", ENGINE + DEVICE),
    M("lane-bank-rotation-off-by-one", "hw/engine/lane.py",
      "banks[(r_rot + v)[:bits]]", "banks[(r_rot + v + 1)[:bits]]",
      "the bytes of a wide read are rotated one bank too far", ENGINE),
    M("lane-channel-counter-not-reset", "hw/engine/lane.py",
      "ch_addr.eq(Mux(s5.eol, lcfg.chan_base, ch_addr + 1))", "ch_addr.eq(ch_addr + 1)",
      "the lane's channel index keeps counting across steps", ENGINE),
    M("lane-queue-room-one-more", "hw/engine/lane.py",
      "room.eq(~after[depth - 1])", "room.eq(~after[depth])",
      "a word is issued although the result queue may be full (back-pressure)", ENGINE),
    M("lane-first-ignores-dx", "hw/engine/lane.py",
      "metas[0].first.eq(~dy & ~dx)", "metas[0].first.eq(~dy)",
      "the second column of a pooling window restarts the running maximum", ENGINE),
    M("lane-count-minus-in-dense", "hw/engine/lane.py",
      "Mux(valid[7] & s4_minus, n_cols, 0)",
      "Mux(valid[7] & (s4_minus | (s4_factor < 0)), n_cols, 0)",
      "dense layers count negative weights in adds_minus too (counter only)", ENGINE + DEVICE),
    M("lane-count-act-read-padding", "hw/engine/lane.py",
      "self.count_act_read.eq(self.act_en)", "self.count_act_read.eq(valid[2])",
      "reads skipped in the zero padding are counted as activation reads (counter only)",
      ENGINE + DEVICE),
    # --- Engine: chunks, arbiter, epilogues, pooling, write-back, busy, counters. -----
    M("engine-chunks-2-bits", "hw/engine/layer_engine.py",
      '"seen": unsigned(spec.CHUNKS_WIDTH)', '"seen": unsigned(2)',
      "the per-channel chunk counter cut to 2 bits (a channel in more than 4 lanes never ends)",
      ENGINE),
    M("engine-final-one-chunk-late", "hw/engine/layer_engine.py",
      "final.eq(held_part.seen + 1 >= e2_param.chunks)",
      "final.eq(held_part.seen + 1 > e2_param.chunks)",
      "a chunked channel waits for one chunk more than it has", ENGINE),
    M("engine-partial-not-cleared", "hw/engine/layer_engine.py",
      "written.eq(Mux(part_final, 0, part_sum.as_value()))", "written.eq(part_sum)",
      "a channel's partial sums are not cleared after its final chunk", ENGINE),
    M("engine-partial-forward-missing", "hw/engine/layer_engine.py",
      "Mux(hit_prev, written, Mux(hit_before, written_before,",
      "Mux(0, written, Mux(hit_before, written_before,",
      "the chunk sum of the item a cycle before is not forwarded (two chunks of one channel "
      "back to back)", ENGINE),
    M("engine-partial-forward-before-missing", "hw/engine/layer_engine.py",
      "Mux(hit_prev, written, Mux(hit_before, written_before,",
      "Mux(hit_prev, written, Mux(0, written_before,",
      "the chunk sum of the item two cycles before is not forwarded (read before its write)",
      ENGINE),
    M("engine-partial-forward-stale", "hw/engine/layer_engine.py",
      "hit_prev.eq(e2_valid & (e1.chan == e2.chan))", "hit_prev.eq(e1.chan == e2.chan)",
      "a bubble's stale sum is forwarded as if it had been written", ENGINE),
    M("engine-chunk-sum-dropped", "hw/engine/layer_engine.py",
      "e3.p[0].eq(sum_p), ", "",
      "the epilogue gets the last chunk of a channel instead of the chunks' sum", ENGINE),
    M("engine-pool-min", "hw/engine/layer_engine.py",
      "(zq[u] > held[u])", "(zq[u] < held[u])",
      "max pooling keeps the minimum", ENGINE),
    M("engine-pool-columns-register-skipped", "hw/engine/layer_engine.py",
      "m.d.sync += zq.eq(z)", "m.d.comb += zq.eq(z)",
      "the pooled columns reach the running maximum a cycle before their address", ENGINE),
    M("engine-pool-read-not-transparent", "hw/engine/layer_engine.py",
      "pool.read_port(transparent_for=(pool_wr,))", "pool.read_port()",
      "the running maximum read two cycles ahead misses the write of that cycle (a lane's "
      "results for one channel three cycles apart)", ENGINE),
    M("engine-pool-forward-1-missing", "hw/engine/layer_engine.py",
      "Mux(same1, p1_best, Mux(same2, p2_best, pool_q))", "Mux(same2, p2_best, pool_q)",
      "the running maximum of the write-back a cycle before is not forwarded (a lane's "
      "results for one channel back to back)", ENGINE),
    M("engine-pool-forward-2-missing", "hw/engine/layer_engine.py",
      "Mux(same1, p1_best, Mux(same2, p2_best, pool_q))", "Mux(same1, p1_best, pool_q)",
      "the running maximum of the write-back two cycles before is not forwarded (a lane's "
      "results for one channel two cycles apart)", ENGINE),
    M("engine-pair-max-first-only", "hw/engine/layer_engine.py",
      "paired = Mux(pair[1] > pair[0], pair[1], pair[0])", "paired = pair[0]",
      "a wide step keeps the left column of each 2-wide window, not the larger", ENGINE),
    M("engine-narrow-register-ignored", "hw/engine/layer_engine.py",
      "narrow = cfg.narrow | (V == 1)", "narrow = Mux(V == 1, 1, 0)",
      "the write-back treats a strided (narrow) layer's results as V columns", ENGINE),
    M("engine-out-addr-row-by-height", "hw/engine/layer_engine.py",
      "row_off.eq(meta.i * cfg.out_w)", "row_off.eq(meta.i * cfg.out_h)",
      "write-back address uses the output height as the row pitch", ENGINE),
    M("engine-write-past-row-end", "hw/engine/layer_engine.py",
      "(u < span) & (wb.j + u < cfg.out_w)", "(u < span)",
      "a group's columns past the row's end are written (over the next row)", ENGINE),
    M("engine-write-bank-row-no-carry", "hw/engine/layer_engine.py",
      "w_rows[b].eq(out_addr[bits:] + (b < o_lo))", "w_rows[b].eq(out_addr[bits:])",
      "a write that crosses a bank row writes the banks before the first into the same row",
      ENGINE),
    M("engine-host-write-every-bank", "hw/engine/layer_engine.py",
      "host_we = self.act_w.en & ((self.act_w.addr[:bits] == b) if bits else 1)",
      "host_we = self.act_w.en",
      "a host write of one byte writes it into every bank", ENGINE),
    M("engine-stall-ignored", "hw/engine/layer_engine.py",
      "granted.eq(waiting & ~self.stall)", "granted.eq(waiting)",
      "the arbiter grants results while the epilogue is stalled", ENGINE),
    M("engine-pop-ignores-stall", "hw/engine/layer_engine.py",
      "lane.o.ready.eq(take[k] & ~self.stall)", "lane.o.ready.eq(take[k])",
      "a lane's queue gives up its result while the epilogue is stalled (the result is "
      "lost)", ENGINE),
    M("lane-occupied-ignores-resultless-words", "hw/engine/lane.py",
      "leave = valid[-1] & ~s5_last", "leave = C(0)",
      "a word that leaves the pipeline without a result still holds its queue place",
      ENGINE),
    M("lane-count-issue-ignores-leave", "hw/engine/lane.py",
      "Mux(issue, Mux(leave, count, plus(count, 1)),", "Mux(issue, plus(count, 1),",
      "a word issued in the cycle another leaves without a result is counted, the "
      "leaving one not", ENGINE),
    M("lane-room-from-the-count-a-cycle-late", "hw/engine/lane.py",
      "room.eq(~after[depth - 1])", "room.eq(~count[depth - 1])",
      "the room register follows the count a cycle late (the queue can overflow)", ENGINE),
    M("lane-room-ignores-pop", "hw/engine/lane.py",
      "room.eq(~after[depth - 1])", "room.eq(~held[depth - 1])",
      "a result taken does not make room in the same cycle (a cycle lost under "
      "back-pressure)", ENGINE),
    M("lane-count-ignores-pop", "hw/engine/lane.py",
      "count.eq(after)", "count.eq(held)",
      "a result taken never leaves the queue's count (the lane stalls for good)", ENGINE),
    M("lane-next-valid-ignores-pop", "hw/engine/lane.py",
      "self.next_valid_taken.eq(push | has_two)",
      "self.next_valid_taken.eq(push | has_one)",
      "a queue's last result still counts as there the cycle after it is taken", ENGINE),
    M("lane-has-two-ignores-pop", "hw/engine/lane.py",
      "Mux(pop, level >= 3, level >= 2)", "Mux(pop, level >= 2, level >= 2)",
      "a queue of two results, one taken, still counts as holding two", ENGINE),
    M("lane-next-valid-ignores-push", "hw/engine/lane.py",
      "self.next_valid_kept.eq(push | has_one)",
      "self.next_valid_kept.eq(has_one)",
      "the arbiter does not see a result pushed into an empty queue", ENGINE),
    M("engine-arbiter-keeps-last", "hw/engine/layer_engine.py",
      '_round_robin(m, "busy", grant, after_grant)',
      '_round_robin(m, "busy", last, after_grant)',
      "the round-robin pointer does not move on after a grant", ENGINE),
    M("engine-busy-before-drained", "hw/engine/layer_engine.py",
      "drained = ~pending & ~Cat(*in_flight).any()", "drained = ~pending",
      "busy falls while results are still in the epilogue", ENGINE),
    M("engine-act-writes-every-column", "hw/engine/layer_engine.py",
      '"act_writes": Mux(w_valid, _tree_sum([w_mask[u] for u in range(V)]), 0),',
      '"act_writes": Mux(w_valid, V, 0),',
      "act_writes counts V bytes a write, not the columns written", ENGINE),
    M("engine-arbiter-starts-at-last", "hw/engine/layer_engine.py",
      "start = Cat(prev[n - 1], prev[:n - 1]) if n > 1 else prev", "start = prev",
      "the round-robin choice starts at the lane last granted, not the one after", ENGINE),
    M("engine-lane-index-off", "hw/engine/layer_engine.py",
      "index = index | Mux(select[k], k, 0)", "index = index | Mux(select[k], k ^ 1, 0)",
      "a granted result is recorded as its neighbour lane's (pooling keys, write-back)",
      ENGINE),
    M("lane-row-end-one-group-late", "hw/engine/lane.py",
      "row_end.eq(j >= next_row_span)", "row_end.eq(j > next_row_span)",
      "a row's last group is not seen as such when it is reached by stepping", ENGINE),
    M("lane-last-group-late", "hw/engine/lane.py",
      "left_one.eq(left == 2)", "left_one.eq(left == 1)",
      "a lane does not see that one group is left after counting down to it", ENGINE),
    M("engine-arbiter-not-reset", "hw/engine/layer_engine.py",
      "last.eq(1 << (self.lanes - 1)), grant.eq(0)", "last.eq(1), grant.eq(0)",
      "the round-robin arbiter starts a layer from lane 1 instead of lane 0", ENGINE),
    # --- Epilogue (dual-scale unit). --------------------------------------------------
    M("epi-no-rounding", "hw/dual_scale.py",
      '(Const(1, max_shift + 1) << s0.shift) >> 1,', 'Const(0, max_shift + 1),',
      "the shift truncates instead of rounding half up", EPILOGUE + ENGINE),
    M("epi-shift-one-more", "hw/dual_scale.py",
      's4_v = reg(4, "v", s3_total >> s3_shift)', 's4_v = reg(4, "v", s3_total >> (s3_shift + 1))',
      "the shift is one bit too far", EPILOGUE + ENGINE),
    M("epi-no-low-saturation", "hw/dual_scale.py",
      "Mux(value[-1], lo, hi))", "Mux(value[-1], value[:width], hi))",
      "values below -128 wrap instead of saturating", EPILOGUE + ENGINE),
    M("epi-relu-lets-minus-one", "hw/dual_scale.py",
      "other.eq(Mux(s5_negative, 0, saturated))",
      "other.eq(Mux(s5_negative & (s5_byte != -1), 0, saturated))",
      "ReLU lets -1 through (and values whose low byte is -1 saturate)", EPILOGUE + ENGINE),
    M("epi-saturate-ignores-fit", "hw/dual_scale.py",
      "saturated = Mux(s5_fits, s5_byte, Mux(s5_negative, lo, hi))",
      "saturated = s5_byte",
      "results beyond int8 wrap instead of saturating (every activation)", EPILOGUE + ENGINE),
    M("epi-leaky-floor", "hw/dual_scale.py",
      "Const(1 << (spec.SLOPE_FRAC_BITS - 1), leaky_width))", "Const(0, leaky_width))",
      "LeakyReLU's slope product truncates instead of rounding", EPILOGUE + ENGINE),
    M("epi-leaky-no-clamp", "hw/dual_scale.py",
      '(s4_act == ActMode.LEAKY) & negative & in_clamp)', '(s4_act == ActMode.LEAKY) & negative)',
      "LeakyReLU's product is used for values below its clamp (very negative values wrap)",
      EPILOGUE + ENGINE),
    # --- Layer sequencer. -------------------------------------------------------------
    M("seq-same-layer-again", "hw/board/layer_sequencer.py",
      "base.eq(base + n_words), k.eq(0)]", "base.eq(base), k.eq(0)]",
      "the sequencer reruns the first layer instead of moving to the next", DEVICE),
    M("seq-totals-last-layer-only", "hw/board/layer_sequencer.py",
      "m.d.sync += total.eq(total + getattr(self.e_counters, name))",
      "m.d.sync += total.eq(getattr(self.e_counters, name))",
      "the run's counters are the last layer's instead of the sum", DEVICE),
    M("seq-load-one-word-short", "hw/board/layer_sequencer.py",
      "with m.If(k == n_words + 1):", "with m.If(k == n_words):",
      "the layer's last configuration word is not loaded", DEVICE),
    # --- Command decoder. -------------------------------------------------------------
    M("dec-crc-ignored", "hw/board/command_decoder.py",
      "with m.If(~self.frame.payload.crc_ok):", "with m.If(0):",
      "a request with a bad CRC is executed instead of NAKed", DEVICE),
    M("dec-run-range-one-more", "hw/board/command_decoder.py",
      "run_first + run_count > max_layers", "run_first + run_count > max_layers + 1",
      "RUN accepts one layer past the configuration memory", DEVICE),
    M("dec-write-depth-one-more", "hw/board/command_decoder.py",
      "past_depth.eq(w_addr > depth),", "past_depth.eq(w_addr > depth + 1),",
      "WRITE accepts one word past the memory's end", DEVICE),
    M("dec-count-without-wait", "hw/board/command_decoder.py",
      '                    next_byte()\n                    m.next = "COUNT_NEXT"',
      '                    next_byte()',
      "WRITE's count goes on a byte a cycle, past its registered end test", DEVICE),
    M("dec-read-range-one-more", "hw/board/command_decoder.py",
      "(addr + count > cfg.act_depth)", "(addr + count > cfg.act_depth + 1)",
      "READ accepts one byte past the activation memory's end", DEVICE),
    M("dec-resend-runs-again", "hw/board/command_decoder.py",
      "resend.eq(run_cached & (last_seq == seq)),", "resend.eq(0),",
      "a resent RUN (same seq) runs the layers again", DEVICE),
    M("dec-lane-check-one-more", "hw/board/command_decoder.py",
      "(lane < cfg.lanes)", "(lane <= cfg.lanes)",
      "WRITE to the weight or channel memory accepts one lane too many", DEVICE),
    M("dec-partial-word-accepted", "hw/board/command_decoder.py",
      "with m.If(byte_in_word != 0):", "with m.If(0):",
      "a WRITE whose data is not a whole number of words is accepted", DEVICE),
    # --- Link: UART and frames. -------------------------------------------------------
    M("uart-rx-quarter-bit-early", "hw/link/uart_rx.py",
      "timer.eq(d // 2 - 1)", "timer.eq(d // 2 - 1 - d // 4)",
      "the UART receiver samples every bit a quarter bit early", UART, external=True,
      note="left to the System-level link tests (sim/test_system.py); a quarter bit early "
           "still decodes a clean line at the tests' baud rates"),
    M("uart-rx-quarter-bit-early-floor", "hw/link/uart_rx.py",
      "timer.eq(d // 2 - 1)", "timer.eq(d // 4)",
      "the same, written as d // 4: equal to the original at divisors 2, 4 and 5, "
      "a fifth of a bit early at 25", UART, external=True, fallback=tuple(SYSTEM),
      note="left to the System-level link tests (sim/test_system.py)"),
    M("uart-rx-stop-bit-unchecked", "hw/link/uart_rx.py",
      "with m.If(rx):\n                        m.d.comb += done.eq(1)",
      "with m.If(1):\n                        m.d.comb += done.eq(1)",
      "a low stop bit is taken as a byte (no frame error)", UART),
    M("uart-rx-msb-first", "hw/link/uart_rx.py",
      "shreg.eq(Cat(shreg[1:], rx))", "shreg.eq(Cat(rx, shreg[:-1]))",
      "the receiver shifts bits in MSB first", UART),
    M("uart-rx-overrun-overwrites", "hw/link/uart_rx.py",
      "with m.If(self.o.valid & ~self.o.ready):", "with m.If(0):",
      "a byte completing while the previous is unread overwrites it", UART),
    M("uart-tx-low-stop-bit", "hw/link/uart_tx.py",
      "Cat(self.i.payload, Const(1, 1))", "Cat(self.i.payload, Const(0, 1))",
      "the transmitter sends a low stop bit", UART),
    M("uart-tx-no-stop-bit", "hw/link/uart_tx.py",
      "bits_left.eq(9)", "bits_left.eq(8)",
      "the transmitter sends no stop bit", UART),
    M("frx-timeout-one-early", "hw/link/frame_receiver.py",
      "at_limit.eq(silent & (idle == self.timeout_cycles - 2))",
      "at_limit.eq(silent & (idle == self.timeout_cycles - 3))",
      "the frame receiver drops a partial frame one cycle early", FRAMES),
    M("utx-ready-early", "hw/link/uart_tx.py",
      "ready.eq((timer == 1) & (bits_left == 0))", "ready.eq(bits_left == 0)",
      "the UART transmitter takes a byte at the start of its stop bit", UART),
    M("ftx-one-payload-byte-more", "hw/link/frame_transmitter.py",
      "left.eq(self.header.payload.length - 1)", "left.eq(self.header.payload.length)",
      "the frame transmitter sends one payload byte more than its header says", FRAMES),
    M("frx-length-one-more", "hw/link/frame_receiver.py",
      "limit_hi, limit_lo = self.max_payload >> 8, self.max_payload & 0xff",
      "limit_hi, limit_lo = (self.max_payload + 1) >> 8, (self.max_payload + 1) & 0xff",
      "the frame receiver takes a payload one byte longer than its buffer", FRAMES),
    M("frx-crc-always-ok", "hw/link/frame_receiver.py",
      "info.crc_ok.eq(chk.match_detected)", "info.crc_ok.eq(1)",
      "every frame is reported with a good CRC", FRAMES),
    M("ftx-crc-bytes-reversed", "hw/link/frame_transmitter.py",
      "gen.crc.word_select(\n                    count, 8)",
      "gen.crc.word_select(\n                    ~count, 8)",
      "the transmitter sends the CRC big-endian", FRAMES),
    M("ftx-length-hi-is-lo", "hw/link/frame_transmitter.py",
      'send(hdr.length[8:], "SEQ")', 'send(hdr.length[:8], "SEQ")',
      "the transmitter sends the length's low byte twice", FRAMES),
    M("ftx-crc-before-last-byte", "hw/link/frame_transmitter.py",
      '                        m.next = "CRC_LAST"',
      '                        m.next = "CRC"',
      "the transmitter sends the CRC before it has taken the payload's last byte", FRAMES),
    M("ftx-crc-fed-unchecked", "hw/link/frame_transmitter.py",
      "gen.valid.eq(checked_sent)", "gen.valid.eq(sent)",
      "the sync byte goes into the CRC", FRAMES),
    M("system-frame-timeout-10x-short", "hw/board/system.py",
      "spec.LINK_TIMEOUT_BYTES * 10 * self.divisor", "spec.LINK_TIMEOUT_BYTES * self.divisor",
      "the board's frame receiver times out after LINK_TIMEOUT_BYTES bit times, not byte times",
      SYSTEM, external=True),
    # --- Power meter. -----------------------------------------------------------------
    M("pm-wraps", "hw/power/power_meter.py",
      "return Mux(total > (1 << len(acc)) - 1, (1 << len(acc)) - 1, total[:len(acc)])",
      "return total[:len(acc)]",
      "the power meter's accumulators wrap instead of saturating", POWER),
    M("pm-commit-every-code", "hw/power/power_meter.py",
      "commit.eq(take & (now_seen == (1 << n) - 1))", "commit.eq(take)",
      "every code commits a sample, not every complete set of channels", POWER),
    M("pm-run-cycles-from-0", "hw/power/power_meter.py",
      "run_cycles.eq(1), run_samples.eq(commit)]", "run_cycles.eq(0), run_samples.eq(commit)]",
      "run_cycles misses the first busy cycle", POWER),
    M("pm-idle-not-cleared", "hw/power/power_meter.py",
      "m.d.sync += [self.idle_samples.eq(idle_samples), idle_samples.eq(0),",
      "m.d.sync += [self.idle_samples.eq(idle_samples),",
      "the idle sample count is not cleared at a run's start", POWER),
    # --- The XADC's die temperature channel. ---------------------------------------------
    M("xadc-no-temperature-in-sequence", "hw/power/xadc.py",
      "0x48: 0x0301,", "0x48: 0x0201,",
      "the XADC's sequence leaves out the temperature sensor", XADC),
    M("drp-temperature-wrong-register", "hw/power/drp_reader.py",
      '"temperature": 0x00,', '"temperature": 0x03,',
      "the DRP reader takes the temperature from another status register", XADC),
    M("xadc-model-temperature-zero", "hw/power/xadc_model.py",
      "410 << 4, 2545 << 4)", "410 << 4, 0)",
      "the XADC model's die reads code 0 (-273 C)", BOARD_CHECK_SIM),
    # --- Constructor checks (made before the object exists, in __new__). ---------------
    M("uart-rx-new-divisor-1", "hw/link/uart_rx.py",
      'spec.check_int("divisor", divisor, 2, 1 << 16)',
      'spec.check_int("divisor", divisor, 1, 1 << 16)',
      "the receiver accepts a divisor of 1 (no mid-bit sample)", UART),
    M("uart-tx-new-divisor-1", "hw/link/uart_tx.py",
      'spec.check_int("divisor", divisor, 2, 1 << 16)',
      'spec.check_int("divisor", divisor, 1, 1 << 16)',
      "the transmitter accepts a divisor of 1", UART),
    M("frx-new-timeout-0", "hw/link/frame_receiver.py",
      'spec.check_int("timeout_cycles", timeout_cycles, 1, 1 << 32)',
      'spec.check_int("timeout_cycles", timeout_cycles, 0, 1 << 32)',
      "the frame receiver accepts a time-out of 0 cycles", FRAMES),
    M("xadc-model-new-divider-1", "hw/power/xadc_model.py",
      'spec.check_int("divider", divider, 2, 255)', 'spec.check_int("divider", divider, 1, 255)',
      "the XADC model accepts an ADC clock divider of 1 (the XADC's minimum is 2)",
      XADC_MODEL),
    M("pm-new-clk-0", "hw/power/power_meter.py",
      'spec.check_int("clk_hz", clk_hz, 1, 10**10)', 'spec.check_int("clk_hz", clk_hz, 0, 10**10)',
      "the power meter accepts a clock of 0 Hz", POWER),
    M("epi-new-shift-width-7", "hw/dual_scale.py",
      '_check_width("shift_width", shift_width, 1, 6)',
      '_check_width("shift_width", shift_width, 1, 7)',
      "the epilogue accepts a 7-bit shift (the accumulator is 48 bits)", EPILOGUE),
    # --- The device core's wiring (memory ports joined with wiring.connect). -----------
    M("core-param-port-unconnected", "hw/board/device_core.py",
      "        wiring.connect(m, dec.param_w, engine.param_w)\n", "",
      "the decoder's parameter writes never reach the engine", DEVICE),
    M("core-act-read-port-unconnected", "hw/board/device_core.py",
      "        wiring.connect(m, dec.act_r, engine.act_r)\n", "",
      "READ of the activation memory never reaches it", DEVICE),
    M("core-seq-first-from-count", "hw/board/device_core.py",
      "seq.first.eq(dec.first)", "seq.first.eq(dec.count)",
      "RUN starts at its layer count instead of its first layer", DEVICE),
    M("engine-host-read-never-enabled", "hw/engine/layer_engine.py",
      "en = Mux(running, lane.act_en, self.act_r.en & host_sel)",
      "en = Mux(running, lane.act_en, 0)",
      "the host's reads of the activation memory are never enabled", DEVICE),
    # --- The ECP5 build's block RAM output registers (a netlist pass). -----------------
    M("outreg-enable-dropped", "hw/build/output_registers.py",
      "conns[oce] = list(enable)", 'conns[oce] = ["1"]',
      "the moved flip-flops' clock enable is not carried to the block's OCE", OUTREG),
    M("outreg-flip-flops-kept", "hw/build/output_registers.py",
      "                    del cells[ff_name]\n", "",
      "the flip-flops stay after the block's output register (a cycle more)", OUTREG),
    M("outreg-36-bit-low-half-unregistered", "hw/build/output_registers.py",
      '["REGMODE_A", "REGMODE_B"], "OCEB")', '["REGMODE_B"], "OCEB")',
      "a 36-bit read registers its upper half only", OUTREG),
    M("outreg-module-outputs-not-readers", "hw/build/output_registers.py",
      "                    sinks[bit].append((None, port))",
      "                    pass",
      "a read that also leaves the module unregistered is moved as well", OUTREG),
    M("outreg-reset-ignored", "hw/build/output_registers.py",
      'if lsrmux == "LSR" and conns.get("LSR", ["0"]) != ["0"]:', "if False:",
      "flip-flops with a reset are moved into a register that has none", OUTREG),
    M("ulx3s-outreg-after-nextpnr", "hw/boards/ulx3s.py",
      'templates[1:1] = [r"""', 'templates[2:2] = [r"""',
      "the output-register pass runs after nextpnr has read the netlist", BUILD_PLAN),
    # --- The ECP5 build's multiplier registers (a netlist pass). ------------------------
    M("dspreg-operand-enable-dropped", "hw/build/dsp_registers.py",
      '(("CLK0", clock), (ce, enable), ("RST0", ["0"]))',
      '(("CLK0", clock), (ce, ["1"]), ("RST0", ["0"]))',
      "the moved flip-flops' clock enables are not carried to the block's registers", DSPREG),
    M("dspreg-operand-read-elsewhere-removed", "hw/build/dsp_registers.py",
      'if not sinks[cells[ff_name]["connections"]["Q"][0]]:', "if True:",
      "an operand's flip-flop goes although other cells read it", DSPREG),
    M("dspreg-constant-one-registered", "hw/build/dsp_registers.py",
      "return None     # a constant 1", "continue     # a constant 1",
      "an operand with a constant 1 bit is registered (0 before its first enable)", DSPREG),
    M("dspreg-product-with-second-reader", "hw/build/dsp_registers.py",
      "        if len(sinks[bits[0]]) != 1:\n            return None\n", "",
      "a product also read unregistered is moved into the output register", DSPREG),
    M("ulx3s-dspreg-pass-missing", "hw/boards/ulx3s.py",
      """, r\"\"\"
            {{invoke_tool("python3")}} -m hw.build.dsp_registers {{name}}.json
            \"\"\"]""", "]",
      "the multiplier-register pass is not in the ULX3S build script", BUILD_PLAN),
    M("build-router-not-passed", "hw/build/flows.py",
      '+ ("" if target.router is None else f" --router {target.router}"))', '+ "")',
      "--router never reaches nextpnr", BUILD_PLAN),
    M("build-nextpnr-options-on-vivado", "hw/build/cli.py",
      'if target.flow != "trellis":', "if False:",
      "--seed and --router are taken for the Arty A7, which Vivado builds", BUILD_PLAN),
]

#: What the campaign found and what was done about it, kept with the results.
HISTORY = [
    "First run (54 mutations): 50 caught. The 4 survivors now have tests in "
    "tests/test_engine_chunks_counters.py: `engine-chunks-2-bits` (no test split a channel "
    "into more than 4 chunks; a linear layer on 12 lanes now gives 6 chunks a channel), "
    "`lane-count-minus-in-dense` and `lane-count-act-read-padding` (the adds and reads "
    "counters were checked nowhere fast; now counted from the layer's weights and padding), "
    "`engine-arbiter-not-reset` (the arbiter's start state changes the stall cycles only "
    "under back-pressure with uneven lanes; a layer found by searching the cycle model shows "
    "it, 2066 stall cycles against 2110).",
    "The reviewer's UART mutant, written `d // 2 - 1 - d // 4` (exactly a quarter bit), is "
    "caught by the fast +3 % baud test; written `d // 4` it equals the original at the fast "
    "tests' divisors 2, 4 and 5 and passes them, and only the System-level link bench at "
    "divisor 25 sees it. The board's frame time-out (`system-frame-timeout-10x-short`) is "
    "seen only by that bench too.",
]

#: What to elaborate (Amaranth's RTLIL back end) to tell an invalid mutant from a caught one.
ELABORATE = {
    "hw/engine/lane.py": "from hw.engine.layer_engine import LayerEngine as C; "
                         "top = C(lanes=2, width=4, lane_words=64, act_depth=256)",
    "hw/engine/layer_engine.py": "from hw.engine.layer_engine import LayerEngine as C; "
                                 "top = C(lanes=2, width=4, lane_words=64, act_depth=256)",
    "hw/dual_scale.py": "from hw.dual_scale import DualScaleUnit as C; top = C()",
    "hw/board/layer_sequencer.py": "from hw.board.layer_sequencer import LayerSequencer as C; "
                                   "top = C(lanes=2, word_addr_width=6, config_depth=128)",
    "hw/board/command_decoder.py": "from hw.board.command_decoder import CommandDecoder as C; "
                                   "from sw.mapping.boards import board_config; "
                                   "top = C(board_config())",
    "hw/link/uart_rx.py": "from hw.link.uart_rx import UARTReceiver as C; top = C(25)",
    "hw/link/uart_tx.py": "from hw.link.uart_tx import UARTTransmitter as C; top = C(25)",
    "hw/link/frame_receiver.py": "from hw.link.frame_receiver import FrameReceiver as C; "
                                 "top = C()",
    "hw/link/frame_transmitter.py": "from hw.link.frame_transmitter import "
                                    "FrameTransmitter as C; top = C()",
    "hw/board/system.py": "from hw.board.system import System as C; "
                          "from sw.mapping.boards import board_config; "
                          "top = C(board_config('virtual').replace(lanes=2, lane_words=64, "
                          "act_depth=256, config_depth=128), divisor=4)",
    "hw/power/power_meter.py": "from hw.power.power_meter import PowerMeter as C; "
                               "top = C(100_000_000)",
    "hw/power/xadc_model.py": "from hw.power.xadc_model import XADCModel as C; top = C()",
    "hw/power/drp_reader.py": "from hw.power.drp_reader import DRPReader as C; top = C()",
    # The XADC primitive elaborates only on the Arty's platform: its register values are
    # what a mutant changes.
    "hw/power/xadc.py": "from hw.power.xadc import xadc_init; xadc_init(); top = None",
    # A netlist pass and the build's plumbing, not components: a mutant is valid when it
    # loads and runs.
    "hw/build/output_registers.py": "from hw.build.output_registers import "
                                    "absorb_output_registers as f; f({'modules': {}}); "
                                    "top = None",
    "hw/build/dsp_registers.py": "from hw.build.dsp_registers import "
                                 "absorb_dsp_registers as f; f({'modules': {}}); top = None",
    "hw/boards/ulx3s.py": "from hw.boards.ulx3s import ULX3S_85F_Platform as P; "
                          "P().command_templates; top = None",
    "hw/build/flows.py": "import hw.build.flows; top = None",
    "hw/build/cli.py": "from hw.build.cli import build_parser; build_parser(); top = None",
    "hw/board/device_core.py": "from hw.board.device_core import DeviceCore as C; "
                               "from sw.mapping.boards import board_config; "
                               "top = C(board_config('virtual').replace(lanes=2, lane_words=64, "
                               "act_depth=256, config_depth=128, power=None))",
}


class SnippetNotFound(Exception):
    pass


def repo_files(root):
    out = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=root,
                         check=True, capture_output=True).stdout.decode()
    for rel in out.split("\0"):
        if rel and not rel.startswith((".venv/", ".git/")) and (root / rel).is_file():
            yield rel


def make_copy(root, files):
    dest = Path(tempfile.mkdtemp(prefix="mutate_hw_"))
    for rel in files:
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / rel, target)
    env = _env(dest)
    probe = subprocess.run([PYTHON, "-c", "import hw, sw; print(hw.__file__); print(sw.__file__)"],
                           cwd=dest, env=env, capture_output=True, text=True, check=True)
    for line in probe.stdout.split():
        if not Path(line).resolve().is_relative_to(dest.resolve()):
            raise RuntimeError(f"in the copy {dest}, a package resolves to {line}, not the copy")
    return dest


def _env(copy):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(copy), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.pop("PYTEST_ADDOPTS", None)
    return env


def check_snippets(mutations, root=ROOT):
    """The names of the mutations whose snippet is not found exactly once in the source."""
    bad = []
    for mut in mutations:
        text = (root / mut.file).read_text()
        if text.count(mut.old) != 1:
            bad.append((mut.name, text.count(mut.old)))
    return bad


def run_one(mut, copy, timeout):
    path = copy / mut.file
    original = path.read_text()
    t0 = time.monotonic()
    record = {"name": mut.name, "file": mut.file, "description": mut.description,
              "tests": mut.tests, "fallback": list(mut.fallback), "old": mut.old,
              "new": mut.new, "note": mut.note, "external": mut.external}
    if original.count(mut.old) != 1:
        record.update(outcome="invalid", reason=f"snippet found {original.count(mut.old)} "
                      "times in the source (expected once)", seconds=0.0)
        return record
    try:
        path.write_text(original.replace(mut.old, mut.new))
        env = _env(copy)
        elab = ELABORATE.get(mut.file)
        if elab:
            code = (f"{elab}\nfrom amaranth.back import rtlil\n"
                    f"if top is not None:\n    rtlil.convert(top)\n"
                    f"import hw; assert hw.__file__.startswith({str(copy)!r}), hw.__file__\n")
            proc = subprocess.run([PYTHON, "-c", code], cwd=copy, env=env,
                                  capture_output=True, text=True, timeout=timeout)
            if proc.returncode != 0:
                record.update(outcome="invalid", reason="does not elaborate: "
                              + proc.stderr.strip().splitlines()[-1][:300],
                              seconds=round(time.monotonic() - t0, 1))
                return record
        try:
            proc = subprocess.run(PYTEST + list(mut.tests), cwd=copy, env=env,
                                  capture_output=True, text=True, timeout=timeout)
            if proc.returncode == 0 and mut.fallback:
                record["by_fallback"] = True
                proc = subprocess.run(PYTEST + list(mut.fallback), cwd=copy, env=env,
                                      capture_output=True, text=True, timeout=timeout)
            rc = proc.returncode
            tail = proc.stdout.strip().splitlines()[-1:] if proc.stdout.strip() else []
            if rc == 0:
                outcome = "survived"
            elif rc == 1:
                outcome = "caught"
            else:
                outcome = "invalid"
            failed = [ln.split(" ", 1)[1].split(" - ")[0] for ln in proc.stdout.splitlines()
                      if ln.startswith("FAILED ")]
            record.update(outcome=outcome, pytest_rc=rc, pytest_summary=" ".join(tail),
                          failed=failed)
            if outcome == "invalid":
                record["reason"] = f"pytest exit code {rc}: " + " ".join(tail)
        except subprocess.TimeoutExpired:
            record.update(outcome="caught", reason=f"tests timed out after {timeout} s",
                          failed=["(timeout)"])
    finally:
        path.write_text(original)
    record["seconds"] = round(time.monotonic() - t0, 1)
    return record


def write_results(records, meta, head, out, stem, total_s):
    caught = [r for r in records if r["outcome"] == "caught"]
    survived = [r for r in records if r["outcome"] == "survived"]
    invalid = [r for r in records if r["outcome"] == "invalid"]
    valid = len(caught) + len(survived)
    rate = len(caught) / valid if valid else 0.0
    ext = [r for r in survived if r["external"]]
    rate_own = len(caught) / (valid - len(ext)) if valid - len(ext) else 0.0
    summary = {"mutations": len(records), "valid": valid, "caught": len(caught),
               "survived": len(survived), "invalid": len(invalid), "catch_rate": rate,
               "survived_external": len(ext), "catch_rate_without_external": rate_own,
               "total_seconds": round(total_s, 1)}
    out.mkdir(parents=True, exist_ok=True)
    write_text(out / f"{stem}.json",
               json.dumps({**meta, "summary": summary, "mutations": records}, indent=2) + "\n")
    lines = list(head) + [
        "Each mutation is one small bug put in a copy of the repository; the listed tests run "
        "against it (`scripts/mutate_hw.py`). *Caught*: a test failed; *survived*: all passed; "
        "*invalid*: the snippet is not in the source or the mutant does not elaborate "
        "(counted apart).", "",
        f"**Catch rate: {len(caught)} / {valid} = {100 * rate:.1f} %** "
        f"({len(survived)} survived, {len(invalid)} invalid, {len(records)} mutations, "
        f"{total_s:.0f} s in all)."]
    base = meta.get("baseline", [])
    if base:
        lines.append(f"Baseline: the {len(base)} lists of tests all pass on the unmutated copy "
                     f"({sum(b['seconds'] for b in base):.0f} s).")
    if ext:
        lines.append(f"Without the {len(ext)} survivor(s) left to the System-level link tests: "
                     f"{len(caught)} / {valid - len(ext)} = {100 * rate_own:.1f} %.")
    lines += ["", "| Mutation | File | What | Tests | Outcome | s |", "|---|---|---|---|---|---|"]
    for r in records:
        tests = " ".join(t.replace("tests/", "").replace("sim/", "sim/") for t in r["tests"])
        outcome = r["outcome"]
        if outcome == "caught" and r.get("failed"):
            outcome += f" (`{r['failed'][0].split('::')[-1]}`)"
        if r.get("by_fallback"):
            tests += " (passed); then " + " ".join(r["fallback"])
            if outcome.startswith("caught"):
                outcome = outcome.replace("caught", "caught by the System-level link bench "
                                          "(sim/test_system.py)", 1)
        lines.append(f"| `{r['name']}` | {r['file']} | {r['description']} | {tests} | "
                     f"{outcome} | {r['seconds']} |")
    lines += ["", "## Findings", ""] + [f"* {h}" for h in HISTORY]
    if survived or invalid:
        lines += ["", "## Survivors and invalid mutants", ""]
        for r in survived + invalid:
            why = r.get("note") or r.get("reason") or "no test catches it yet."
            lines.append(f"* `{r['name']}` ({r['outcome']}): {why}")
    write_text(out / f"{stem}.md", "\n".join(lines) + "\n")
    return summary


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", metavar="NAME")
    parser.add_argument("--list", action="store_true", help="list the mutations and exit")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--out", type=Path, default=ROOT / "results")
    parser.add_argument("--timeout", type=int, default=600,
                        help="seconds per mutation's tests before it counts as caught (hang)")
    args = parser.parse_args()

    names = [m.name for m in MUTATIONS]
    assert len(set(names)) == len(names), "mutation names must be unique"
    if args.list:
        for m in MUTATIONS:
            print(f"{m.name:34s} {m.file:30s} {m.description}")
        return 0
    chosen = MUTATIONS
    if args.only:
        unknown = sorted(set(args.only) - set(names))
        if unknown:
            parser.error(f"unknown mutation(s): {', '.join(unknown)}")
        chosen = [m for m in MUTATIONS if m.name in args.only]
    bad = check_snippets(chosen)
    for name, n in bad:
        print(f"ERROR: mutation {name}: its snippet is found {n} times in the source "
              "(expected exactly once); update the list in scripts/mutate_hw.py",
              file=sys.stderr)

    from tqdm import tqdm
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))    # still remove the copies
    meta, head = results_header("Mutations of hw/")
    files = list(repo_files(ROOT))
    jobs = max(1, min(args.jobs, len(chosen)))
    t0 = time.monotonic()
    copies = queue.Queue()
    made = []
    for _ in range(jobs):
        c = make_copy(ROOT, files)
        made.append(c)
        copies.put(c)

    def work(mut):
        copy = copies.get()
        try:
            return run_one(mut, copy, args.timeout)
        finally:
            copies.put(copy)

    records = {}
    try:
        # The baseline: every test list passes on the unmutated copy, or a "caught" would
        # mean nothing.
        lists = list(dict.fromkeys([tuple(m.tests) for m in chosen]
                                   + [tuple(m.fallback) for m in chosen if m.fallback]))

        def baseline(tests):
            copy = copies.get()
            try:
                t = time.monotonic()
                proc = subprocess.run(PYTEST + list(tests), cwd=copy, env=_env(copy),
                                      capture_output=True, text=True, timeout=args.timeout)
                return {"tests": list(tests), "rc": proc.returncode,
                        "summary": (proc.stdout.strip().splitlines() or [""])[-1],
                        "seconds": round(time.monotonic() - t, 1)}
            finally:
                copies.put(copy)

        with ThreadPoolExecutor(jobs) as pool:
            base = list(tqdm(pool.map(baseline, lists), total=len(lists), unit="baseline"))
        meta["baseline"] = base
        broken = [b for b in base if b["rc"] != 0]
        for b in broken:
            print(f"ERROR: the unmutated copy fails {' '.join(b['tests'])}: {b['summary']}",
                  file=sys.stderr)
        if broken:
            return 2
        with ThreadPoolExecutor(jobs) as pool, tqdm(total=len(chosen), unit="mutant") as bar:
            for rec in pool.map(work, chosen):
                records[rec["name"]] = rec
                bar.set_postfix_str(f"{rec['name']}: {rec['outcome']}")
                bar.update()
    finally:
        for c in made:
            shutil.rmtree(c, ignore_errors=True)
    ordered = [records[m.name] for m in chosen]
    stem = "hw_mutations_only" if args.only else "hw_mutations"
    summary = write_results(ordered, meta, head, args.out, stem, time.monotonic() - t0)
    print(json.dumps(summary, indent=2))
    for r in ordered:
        if r["outcome"] != "caught":
            print(f"{r['outcome']:8s} {r['name']}: {r.get('reason', '')}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
