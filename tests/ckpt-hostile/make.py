#!/usr/bin/env python3
"""Writes the hostile checkpoints of this folder, which tests/test_ckpt.c
loads one by one (every one must be refused, with the cause it names).

    python3 make.py            # rewrites the files next to this script
    python3 make.py --seeds D  # also writes small valid checkpoints to D
                               # (the fuzzer's seed corpus, fuzz/corpus/ckpt)

Everything is written by hand: pickles opcode by opcode (protocol 2 unless
stated), the legacy torch.save stream (magic number, protocol 1001, system
info, object, storage keys, then each storage as an int64 count and raw
little-endian data) and zip archives (ARCHIVE/data.pkl, ARCHIVE/data/KEY,
stored, with correct CRC-32s unless stated). Each file is described by the
docstring of the function that makes it."""
import os
import struct
import sys
import zlib

MAGIC = 0x1950a86a20f9469cfc6c


class P:
    """A pickle under construction."""

    def __init__(self, proto=2):
        self.b = bytearray()
        if proto >= 2:
            self.b += bytes([0x80, proto])

    def raw(self, b):
        self.b += b
        return self

    def op(self, c):
        self.b += c.encode('latin-1') if isinstance(c, str) else bytes([c])
        return self

    def int(self, v):
        if 0 <= v < 256:
            self.b += b'K' + bytes([v])
        elif 0 <= v < 65536:
            self.b += b'M' + struct.pack('<H', v)
        elif -2**31 <= v < 2**31:
            self.b += b'J' + struct.pack('<i', v)
        else:
            n = (v.bit_length() + 8) // 8
            self.b += b'\x8a' + bytes([n]) + v.to_bytes(n, 'little',
                                                        signed=True)
        return self

    def str(self, s):
        e = s.encode() if isinstance(s, str) else s
        self.b += b'X' + struct.pack('<I', len(e)) + e
        return self

    def glob(self, mod, name):
        self.b += b'c' + mod.encode() + b'\n' + name.encode() + b'\n'
        return self

    def sglob(self, mod, name):
        return self.str(mod).str(name).op(0x93)

    def tup(self, vals):
        self.op('(')
        for v in vals:
            self.val(v)
        return self.op('t')

    def val(self, v):
        if v is None:
            self.op('N')
        elif v is True or v is False:
            self.op(0x88 if v else 0x89)
        elif isinstance(v, int):
            self.int(v)
        elif isinstance(v, (str, bytes)):
            self.str(v)
        elif isinstance(v, tuple):
            self.tup(v)
        elif isinstance(v, list):
            self.op(']').op('(')
            for x in v:
                self.val(x)
            self.op('e')
        elif isinstance(v, dict):
            self.op('}').op('(')
            for k, x in v.items():
                self.val(k)
                self.val(x)
            self.op('u')
        elif callable(v):
            v(self)
        else:
            raise TypeError(v)
        return self

    def odict(self):
        return self.glob('collections', 'OrderedDict').op(')').op('R')

    def stop(self):
        return bytes(self.op('.').b)


def storage(cls, key, numel, legacy):
    """The persistent id of a storage, as torch.save writes it."""
    def emit(p):
        p.op('(').str('storage').glob('torch', cls).str(key).str('cpu')
        p.int(numel)
        if legacy:
            p.op('N')
        p.op('t').op('Q')
    return emit


def tensor(cls, key, numel, offset, size, stride, legacy, fn=None):
    """A _rebuild_tensor_v2 call over a storage."""
    def emit(p):
        p.glob('torch._utils', '_rebuild_tensor_v2').op('(')
        storage(cls, key, numel, legacy)(p)
        p.int(offset).tup(tuple(size)).tup(tuple(stride)).op(0x89)
        p.odict().op('t').op('R')
    return emit


def state_dict(items, metadata=True):
    """An OrderedDict of items, with a _metadata attribute set by BUILD."""
    def emit(p):
        p.odict().op('(')
        for k, v in items:
            p.val(k).val(v)
        p.op('u')
        if metadata:
            p.val({'_metadata': {'': {'version': 1}}}).op('b')
    return emit


def header(little=True):
    return (P().int(MAGIC).stop() + P().int(1001).stop() +
            P().val({'protocol_version': 1001, 'little_endian': little,
                     'type_sizes': {'short': 2, 'int': 4, 'long': 4}}).stop())


def legacy(obj_pickle, storages, head=None):
    """A legacy torch.save stream; storages: (key, raw bytes, count)."""
    out = bytearray(header() if head is None else head)
    out += obj_pickle
    out += P().val([k for k, _, _ in storages]).stop()
    for _, data, count in storages:
        out += struct.pack('<q', count) + data
    return bytes(out)


def zipfile_bytes(members, zip64=False):
    """A zip archive; members: dicts with name, data and optional method,
    crc, usize, csize (values written in the headers, overriding the real
    ones)."""
    out = bytearray()
    cd = bytearray()
    for m in members:
        name = m['name'].encode()
        data = m['data']
        crc = m.get('crc', zlib.crc32(data) & 0xffffffff)
        method = m.get('method', 0)
        csize = m.get('csize', len(data))
        usize = m.get('usize', len(data))
        off = len(out)
        extra = b''
        f_c, f_u, f_o = csize, usize, off
        if zip64 or usize >= 0xffffffff or csize >= 0xffffffff:
            extra = struct.pack('<HHQQQ', 1, 24, usize, csize, off)
            f_c = f_u = f_o = 0xffffffff
        lextra = b''
        lc, lu = f_c, f_u
        if extra:
            lextra = struct.pack('<HHQQ', 1, 16, usize, csize)
        out += struct.pack('<IHHHHHIIIHH', 0x04034b50, 45 if extra else 20,
                           0, method, 0, 0x21, crc, lc, lu, len(name),
                           len(lextra)) + name + lextra + data
        cd += struct.pack('<IHHHHHHIIIHHHHHII', 0x02014b50, 0x31e,
                          45 if extra else 20, 0, method, 0, 0x21, crc,
                          f_c, f_u, len(name), len(extra), 0, 0, 0, 0,
                          f_o) + name + extra
    cdoff = len(out)
    out += cd
    n = len(members)
    if zip64:
        z64 = len(out)
        out += struct.pack('<IQHHIIQQQQ', 0x06064b50, 44, 45, 45, 0, 0, n, n,
                           len(cd), cdoff)
        out += struct.pack('<IIQI', 0x07064b50, 0, z64, 1)
        out += struct.pack('<IHHHHIIH', 0x06054b50, 0, 0, 0xffff, 0xffff,
                           0xffffffff, 0xffffffff, 0)
    else:
        out += struct.pack('<IHHHHIIH', 0x06054b50, 0, 0, n, n, len(cd),
                           cdoff, 0)
    return bytes(out)


def zip_ckpt(pkl, storages, extra=(), arch='archive', zip64=False):
    """A zip checkpoint; storages: (key, raw bytes)."""
    members = [{'name': arch + '/data.pkl', 'data': pkl}]
    members += [{'name': arch + '/data/' + k, 'data': d} for k, d in storages]
    members += [{'name': arch + '/version', 'data': b'3\n'},
                {'name': arch + '/byteorder', 'data': b'little'}]
    members += list(extra)
    return zipfile_bytes(members, zip64)


def f32(*v):
    return struct.pack('<%df' % len(v), *v)


def conv_sd(legacy_ids, key='0', cls='FloatStorage', numel=6, size=(2, 3),
            stride=(3, 1), offset=0, name='conv.weight'):
    return P().val(state_dict([(name, tensor(cls, key, numel, offset, size,
                                             stride, legacy_ids))])).stop()


W6 = f32(1, 2, 3, 4, 5, 6)


# ---------------------------------------------------------------- hostile

HOSTILE = {}


def hostile(fn):
    HOSTILE[fn.__name__.replace('_', '-')] = fn
    return fn


def call_payload(mod, name, arg, stack_global=False, proto=2):
    p = P(proto)
    if stack_global:
        p.sglob(mod, name)
    else:
        p.glob(mod, name)
    return p.val((arg,)).op('R').stop()


@hostile
def os_system_legacy():
    """Legacy stream whose object pickle is os.system('touch /tmp/pwned')
    through GLOBAL and REDUCE."""
    return legacy(call_payload('os', 'system', 'touch /tmp/pwned'), [])


@hostile
def posix_system_zip():
    """Zip whose data.pkl calls posix.system through STACK_GLOBAL
    (protocol 4)."""
    return zip_ckpt(call_payload('posix', 'system', 'id', True, 4), [])


@hostile
def builtins_eval():
    """Zip whose data.pkl calls builtins.eval("__import__('os')...")."""
    return zip_ckpt(call_payload('builtins', 'eval',
                                 "__import__('os').system('id')"), [])


@hostile
def builtins_exec_magic():
    """Legacy stream whose very first pickle (the magic number) is
    builtins.exec(...)."""
    return call_payload('builtins', 'exec', 'import os') + header()[20:]


@hostile
def subprocess_popen():
    """Zip whose data.pkl calls subprocess.Popen(('id',)) with STACK_GLOBAL
    (protocol 2 framing of protocol 4 opcodes)."""
    return zip_ckpt(call_payload('subprocess', 'Popen', ('id',), True), [])


@hostile
def builtin_getattr():
    """Legacy stream: __builtin__.getattr(state dict, '__class__') inside an
    otherwise valid state dict."""
    def ga(p):
        p.glob('__builtin__', 'getattr').val(({}, '__class__')).op('R')
    obj = P().val(state_dict([('w', tensor('FloatStorage', '1', 6, 0, (6,),
                                           (1,), True)), ('x', ga)])).stop()
    return legacy(obj, [('1', W6, 6)])


@hostile
def inst_opcode():
    """INST (text module and class inline) of os.system."""
    return zip_ckpt(P().op('(').str('id').raw(b'ios\nsystem\n').stop(), [])


@hostile
def obj_opcode():
    """OBJ on collections.OrderedDict, an allowed class."""
    return zip_ckpt(P().op('(').glob('collections', 'OrderedDict')
                    .op('o').stop(), [])


@hostile
def newobj_storage():
    """NEWOBJ on torch.FloatStorage (allowed only in persistent ids)."""
    return zip_ckpt(P().glob('torch', 'FloatStorage').val((5,)).op(0x81)
                    .stop(), [])


@hostile
def newobj_ex():
    """NEWOBJ_EX (protocol 4) on collections.OrderedDict."""
    return zip_ckpt(P(4).glob('collections', 'OrderedDict').op(')').op('}')
                    .op(0x92).stop(), [])


@hostile
def build_tensor():
    """BUILD setting the state of a tensor (a __setstate__ call)."""
    t = tensor('FloatStorage', '0', 6, 0, (6,), (1,), False)
    obj = P().val(state_dict([('w', lambda p: (t(p), p.val({'x': 1}),
                                               p.op('b')))])).stop()
    return zip_ckpt(obj, [('0', W6)])


@hostile
def reduce_chain_100k():
    """100000 nested OrderedDict calls: OrderedDict(OrderedDict(...()))."""
    p = P().glob('collections', 'OrderedDict')
    p.raw(b'2' * 99999).op(')').op('R')
    p.raw(b'\x85R' * 99999)
    return zip_ckpt(p.stop(), [])


@hostile
def eval_chain_100k():
    """100000 copies of builtins.eval waiting for arguments (DUP), the way a
    nested chain of calls starts."""
    p = P().glob('builtins', 'eval').raw(b'2' * 99999)
    return zip_ckpt(p.stop(), [])


@hostile
def deep_lists():
    """Lists nested 100000 deep with EMPTY_LIST and APPEND (no MARK)."""
    p = P().raw(b']' * 100000).raw(b'a' * 99999)
    return zip_ckpt(p.stop(), [])


@hostile
def deep_dicts():
    """Dicts nested 25000 deep with EMPTY_DICT and SETITEM (no MARK)."""
    p = P().raw(b'}K\x01' * 25000).op('}').raw(b's' * 25000)
    return zip_ckpt(p.stop(), [])


@hostile
def deep_marks():
    """Dicts nested 10000 deep with MARK."""
    return zip_ckpt(P().raw(b'}(X\x01\x00\x00\x00k' * 10000).stop(), [])


@hostile
def memo_flood():
    """LONG_BINPUT at index 4000000000 of a small pickle."""
    return zip_ckpt(P().op('}').raw(b'r' + struct.pack('<I', 4000000000))
                    .stop(), [])


@hostile
def storage_past_end():
    """Zip: the storage claims 1000 elements, its data holds 6."""
    return zip_ckpt(conv_sd(False, numel=1000, size=(1000,), stride=(1,)),
                    [('0', W6)])


@hostile
def offset_past_end():
    """A tensor whose storage offset lies beyond its storage."""
    return zip_ckpt(conv_sd(False, offset=100, size=(2,), stride=(1,)),
                    [('0', W6)])


@hostile
def numel_overflow():
    """Sizes whose product overflows 64 bits (2^32 x 2^32 x 16)."""
    return zip_ckpt(conv_sd(False, size=(2**32, 2**32, 16),
                            stride=(0, 0, 0)), [('0', W6)])


@hostile
def numel_overflow_empty():
    """Sizes whose product overflows 64 bits beside a zero size, with
    contiguous strides."""
    return zip_ckpt(conv_sd(False, size=(0, 2**62, 4),
                            stride=(2**63 - 1, 4, 1)), [('0', W6)])


@hostile
def stride_overflow():
    """A stride of 2^62 that wraps the last element's offset."""
    return zip_ckpt(conv_sd(False, size=(5,), stride=(2**62,)), [('0', W6)])


@hostile
def negative_size():
    """A size of -1."""
    return zip_ckpt(conv_sd(False, size=(-1, 6), stride=(6, 1)),
                    [('0', W6)])


@hostile
def negative_stride():
    """A stride of -1."""
    return zip_ckpt(conv_sd(False, size=(6,), stride=(-1,)), [('0', W6)])


@hostile
def negative_numel():
    """A storage claiming -6 elements."""
    return zip_ckpt(conv_sd(False, numel=-6, size=(6,), stride=(1,)),
                    [('0', W6)])


@hostile
def legacy_10gb():
    """Legacy: a 1 KB file whose storage count claims 10 GB (2.5 billion
    floats), the tensor matching it."""
    n = 2500000000
    obj = conv_sd(True, key='1', numel=n, size=(n,), stride=(1,))
    return legacy(obj, [('1', f32(*range(200)), n)])


@hostile
def zip_10gb_view():
    """Zip: a 10 GB broadcast view (stride 0) over one float."""
    return zip_ckpt(conv_sd(False, numel=1, size=(50000, 50000),
                            stride=(0, 0)), [('0', f32(1))])


@hostile
def zip_4gb_member():
    """Zip64: the data member claims 4 GB uncompressed (and compressed) in
    a small file."""
    out = bytearray(zip_ckpt(conv_sd(False), [('0', W6)], zip64=True))
    big = struct.pack('<Q', 2**32)
    # The sizes in the ZIP64 extra fields of its local and central headers.
    for pat in (struct.pack('<HHQQ', 1, 16, 24, 24),
                struct.pack('<HHQQ', 1, 24, 24, 24)):
        j = out.index(pat)
        out[j + 4:j + 20] = big + big
    return bytes(out)


@hostile
def zip_dotdot():
    """An entry called ../../etc/cron.d/x next to a valid checkpoint."""
    return zip_ckpt(conv_sd(False), [('0', W6)],
                    [{'name': '../../etc/cron.d/x', 'data': b'* * * * *'}])


@hostile
def zip_absolute():
    """An entry with an absolute path."""
    return zip_ckpt(conv_sd(False), [('0', W6)],
                    [{'name': '/etc/passwd', 'data': b'root'}])


@hostile
def zip_dotdot_archive():
    """The whole checkpoint under ../archive/."""
    return zip_ckpt(conv_sd(False), [('0', W6)], arch='../archive')


@hostile
def zip_duplicate():
    """Two members called archive/data/0 with different data."""
    return zip_ckpt(conv_sd(False), [('0', W6), ('0', f32(9, 9, 9, 9, 9, 9))])


@hostile
def zip_deflated_data():
    """The data member deflated (method 8), with correct sizes and CRC."""
    pkl = conv_sd(False)
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    d = c.compress(W6) + c.flush()
    return zipfile_bytes([
        {'name': 'archive/data.pkl', 'data': pkl},
        {'name': 'archive/data/0', 'data': d, 'method': 8,
         'crc': zlib.crc32(W6), 'usize': len(W6)}])


@hostile
def zip_bomb():
    """A deflated data member expanding 1000-fold (64 MB of zeros from
    64 KB), claiming its real uncompressed size."""
    n = 64 << 20
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    d = c.compress(bytes(n)) + c.flush()
    return zipfile_bytes([
        {'name': 'archive/data.pkl',
         'data': conv_sd(False, numel=n // 4, size=(n // 4,), stride=(1,))},
        {'name': 'archive/data/0', 'data': d, 'method': 8,
         'crc': zlib.crc32(bytes(n)), 'usize': n}])


@hostile
def zip_crc_data():
    """The data member's CRC-32 off by one bit."""
    return zipfile_bytes([
        {'name': 'archive/data.pkl', 'data': conv_sd(False)},
        {'name': 'archive/data/0', 'data': W6,
         'crc': zlib.crc32(W6) ^ 1}])


@hostile
def zip_crc_pickle():
    """data.pkl with a wrong CRC-32."""
    pkl = conv_sd(False)
    return zipfile_bytes([
        {'name': 'archive/data.pkl', 'data': pkl, 'crc': zlib.crc32(pkl) ^ 4},
        {'name': 'archive/data/0', 'data': W6}])


@hostile
def zip_encrypted():
    """A member flagged as encrypted."""
    f = bytearray(zip_ckpt(conv_sd(False), [('0', W6)]))
    j = f.index(b'PK\x01\x02')
    f[j + 8] |= 1
    return bytes(f)


@hostile
def zip_local_name():
    """The local header of archive/data/0 names another file."""
    f = bytearray(zip_ckpt(conv_sd(False), [('0', W6)]))
    j = f.index(b'archive/data/0')
    f[j:j + 14] = b'archive/data/9'
    return bytes(f)


@hostile
def legacy_wrong_magic():
    """Legacy stream with the magic number off by one."""
    f = legacy(conv_sd(True), [('0', W6, 6)])
    return P().int(MAGIC + 1).stop() + f[len(P().int(MAGIC).stop()):]


@hostile
def legacy_wrong_protocol():
    """Legacy stream with protocol version 1000."""
    return (P().int(MAGIC).stop() + P().int(1000).stop() +
            legacy(conv_sd(True), [('0', W6, 6)])[
                len(P().int(MAGIC).stop() + P().int(1001).stop()):])


@hostile
def legacy_big_endian():
    """Legacy stream whose system info says big-endian."""
    return legacy(conv_sd(True), [('0', W6, 6)], header(False))


@hostile
def half_odd_length():
    """A HalfStorage of 3 elements whose data member holds 5 bytes."""
    return zip_ckpt(conv_sd(False, cls='HalfStorage', numel=3, size=(3,),
                            stride=(1,)), [('0', b'\x00\x3c\x00\x3c\x00')])


@hostile
def bf16_odd_length():
    """Legacy BFloat16Storage of 4 elements, the file ending mid-element."""
    f = legacy(conv_sd(True, cls='BFloat16Storage', numel=4, size=(4,),
                       stride=(1,)), [('0', b'\x80\x3f' * 4, 4)])
    return f[:-1]


@hostile
def zip_cd_past_end():
    """The end record puts the central directory past the end of the
    file."""
    f = bytearray(valid_zip())
    f[-6:-2] = struct.pack('<I', len(f))
    return bytes(f)


@hostile
def zip_lho_past_end():
    """The central directory puts archive/data/0 at offset 2^31."""
    f = bytearray(valid_zip())
    j = f.index(b'PK\x01\x02', f.index(b'PK\x01\x02') + 4)
    f[j + 42:j + 46] = struct.pack('<I', 2**31)
    return bytes(f)


@hostile
def zip_entry_count():
    """The end record claims 65000 entries."""
    f = bytearray(valid_zip())
    f[-14:-10] = struct.pack('<HH', 65000, 65000)
    return bytes(f)


@hostile
def zip64_locator_past_end():
    """ZIP64 end record locator pointing past the end of the file."""
    f = bytearray(zip_ckpt(conv_sd(False), [('0', W6)], zip64=True))
    j = f.index(b'PK\x06\x07')
    f[j + 8:j + 16] = struct.pack('<Q', 2**63)
    return bytes(f)


# Truncations of one valid legacy file and one valid zip file at each
# section boundary, added by main().
def valid_legacy():
    return legacy(conv_sd(True), [('0', W6, 6)])


def valid_zip():
    return zip_ckpt(conv_sd(False), [('0', W6)])


def legacy_cuts():
    """Offsets of the ends of the legacy sections: magic, protocol, system
    info, object, key list, count, half of the data."""
    f = valid_legacy()
    ends, pos = [], 0
    for part in (P().int(MAGIC).stop(), P().int(1001).stop(),
                 header()[len(P().int(MAGIC).stop() +
                              P().int(1001).stop()):], conv_sd(True),
                 P().val(['0']).stop(), b'\0' * 8, W6[:12]):
        pos += len(part)
        ends.append(pos)
    return f, ends


def zip_cuts():
    """Offsets inside a zip: local header, data.pkl, data member, central
    directory, end record."""
    f = valid_zip()
    cd = f.index(b'PK\x01\x02')
    return f, [20, 30 + 16 + 5, f.index(b'PK\x03\x04', 1) + 10,
               cd, cd + 30, len(f) - 22, len(f) - 5]


# ---------------------------------------------------------------- seeds

def seeds():
    """Small valid checkpoints in every layout the reader knows."""
    out = {}
    out['legacy-f32'] = valid_legacy()
    out['zip-f32'] = valid_zip()
    sd = state_dict([
        ('bn.running_mean', tensor('FloatStorage', '94', 4, 0, (2,), (1,),
                                   True)),
        ('bn.running_var', tensor('FloatStorage', '94', 4, 2, (2,), (1,),
                                  True)),
        ('bn.num_batches_tracked', tensor('LongStorage', '95', 1, 0, (), (),
                                          True)),
        ('w.t', tensor('FloatStorage', '96', 6, 0, (3, 2), (1, 3), True)),
        ('d', tensor('DoubleStorage', '97', 2, 0, (2,), (1,), True)),
    ])
    out['legacy-mixed'] = legacy(P().val(sd).stop(), [
        ('94', f32(1, 2, 3, 4), 4), ('95', struct.pack('<q', 7), 1),
        ('96', W6, 6), ('97', struct.pack('<2d', 1.5, -2.0), 2)])
    out['zip-f16'] = zip_ckpt(conv_sd(False, cls='HalfStorage'),
                              [('0', struct.pack('<6H', 0x3c00, 0x4000, 1,
                                                 0x7c00, 0x8400, 0x3555))])
    out['zip-bf16'] = zip_ckpt(conv_sd(False, cls='BFloat16Storage'),
                               [('0', struct.pack('<6H', *[0x3f80] * 6))])
    p = P().val({'teacher.a': tensor('FloatStorage', '0', 6, 0, (6,), (1,),
                                     False),
                 'student.a': tensor('FloatStorage', '0', 6, 1, (5,), (1,),
                                     False)}).stop()
    out['zip-student'] = zip_ckpt(p, [('0', W6)])
    p = P().val({'epoch': 3, 'state_dict': {
        'model.m.w': tensor('FloatStorage', '0', 6, 0, (2, 3), (3, 1),
                            False)}}).stop()
    out['zip-lightning'] = zip_ckpt(p, [('0', W6)], zip64=True)

    def param(p):
        p.glob('torch._utils', '_rebuild_parameter').op('(')
        tensor('FloatStorage', '0', 6, 0, (6,), (1,), False)(p)
        p.op(0x88).odict().op('t').op('R')
    p = P().val(state_dict([('module.p', param)])).stop()
    out['zip-param'] = zip_ckpt(p, [('0', W6)], arch='best_model')
    # Protocol 4 with framing, MEMOIZE and STACK_GLOBAL.
    p = P(4).raw(b'\x95' + struct.pack('<Q', 0)).op('}').op(0x94).op('(')
    p.raw(b'\x8c\x01w\x94').raw(b'\x8c\x0ctorch._utils\x94'
                                b'\x8c\x12_rebuild_tensor_v2\x94\x93\x94')
    p.raw(b'((\x8c\x07storage\x8c\x05torch\x8c\x0cFloatStorage\x93'
          b'\x8c\x010\x8c\x03cpuK\x06tQK\x00K\x06\x85K\x01\x85\x89'
          b'\x8c\x0bcollections\x8c\x0bOrderedDict\x93)\x81tR')
    p.raw(b'\x8c\x01v' b'h\x04' b'((\x8c\x07storage\x8c\x05torch'
          b'\x8c\x0cFloatStorage\x93\x8c\x010\x8c\x03cpuK\x06tQ'
          b'K\x01K\x02K\x02\x86K\x02K\x01\x86\x89)tR')
    p.raw(b'u')
    out['zip-proto4'] = zip_ckpt(p.stop(), [('0', W6)])
    return out


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    files = {name + '.pth': fn() for name, fn in HOSTILE.items()}
    f, ends = legacy_cuts()
    names = ('magic', 'protocol', 'sysinfo', 'object', 'keys', 'count',
             'data')
    for n, e in zip(names, ends):
        files['cut-legacy-%s.pth' % n] = f[:e - 1] if n != 'data' else f[:e]
    f, ends = zip_cuts()
    names = ('local-header', 'pickle', 'data', 'central-dir', 'cd-entry',
             'eocd', 'eocd-end')
    for n, e in zip(names, ends):
        files['cut-zip-%s.pth' % n] = f[:e]
    for name, data in sorted(files.items()):
        assert len(data) < 400000, name
        with open(os.path.join(here, name), 'wb') as fp:
            fp.write(data)
    if len(sys.argv) == 3 and sys.argv[1] == '--seeds':
        os.makedirs(sys.argv[2], exist_ok=True)
        for name, data in seeds().items():
            with open(os.path.join(sys.argv[2], name), 'wb') as fp:
                fp.write(data)


if __name__ == '__main__':
    main()
