namespace LuaXmpp.Tests.Libraries;

public sealed class NativeLibrariesTests : LuaTestState
{
    [Fact]
    public void Base64_EncodesAndDecodesRfc4648Vectors()
    {
        Run("""
            local b64 = require "util.encodings".base64
            assert(b64.encode("") == "")
            assert(b64.encode("f") == "Zg==")
            assert(b64.encode("foobar") == "Zm9vYmFy")
            assert(b64.encode("\0\255") == "AP8=")
            assert(b64.decode("Zm9vYg==") == "foob")
            assert(b64.decode("Zm9v\nYmFy") == "foobar", "whitespace is skipped")
            assert(b64.decode(b64.encode("\0\1\2binary\255")) == "\0\1\2binary\255")
            assert(not pcall(b64.encode, nil))
            """);
    }

    [Fact]
    public void Hashes_MatchKnownVectors()
    {
        Run("""
            local h = require "util.hashes"
            assert(h.sha1("abc", true) == "a9993e364706816aba3e25717850c26c9cd0d89d")
            assert(#h.sha1("abc") == 20)
            assert(h.sha256("abc", true) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
            assert(h.sha224("abc", true) == "23097d223405d8228642a477bda255b32aadbce4bda0b3f7e36c9da7")
            assert(h.sha224("", true) == "d14a028c2a3a2bc9476102bb288234c415a2b01f828ea62ac5b3e42f")
            assert(h.md5("", true) == "d41d8cd98f00b204e9800998ecf8427e")
            assert(#h.sha512("x") == 64 and #h.sha384("x") == 48)
            -- RFC 2202 §3 test case 2 and RFC 4231 §4.3 test case 2
            assert(h.hmac_sha1("Jefe", "what do ya want for nothing?", true) == "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79")
            assert(h.hmac_sha256("Jefe", "what do ya want for nothing?", true) == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
            assert(h.equals("abc", "abc") and not h.equals("abc", "abd") and not h.equals("a", "ab"))
            assert(not pcall(h.sha1, {}))
            """);
    }

    [Fact]
    public void Pbkdf2_MatchesRfc6070Vectors()
    {
        Run("""
            local h = require "util.hashes"
            local hex = require "util.hex"
            assert(hex.encode(h.pbkdf2_hmac_sha1("password", "salt", 1)) == "0c60c80f961f0e71f3a9b524af6012062fe037a6")
            assert(hex.encode(h.scram_Hi_sha1("password", "salt", 2)) == "ea6c014dc72d6f8ccd1ed92ace1d41f0d8de8957")
            assert(hex.encode(h.pbkdf2_hmac_sha1("password", "salt", 4096)) == "4b007901b765489abead49d926f721d065a429c1")
            assert(#h.pbkdf2_hmac_sha256("password", "salt", 1) == 32)
            assert(not pcall(h.pbkdf2_hmac_sha1, "p", "s", 1.5))
            """);
    }

    [Fact]
    public void Stringprep_PreparesJidParts_AndRejectsProhibited()
    {
        Run("""
            local sp = require "util.encodings".stringprep
            assert(sp.nodeprep("JuLiet") == "juliet")
            assert(sp.nodeprep("a@b") == nil)
            assert(sp.nodeprep("") == nil)
            assert(sp.nameprep("Example.COM") == "example.com")
            assert(sp.resourceprep("Balcony") == "Balcony")
            assert(sp.nodeprep(nil) == nil)
            local u = require "util.encodings".utf8
            assert(u.valid("h\195\169") and not u.valid("\255") and not u.valid("\237\160\128"))
            assert(u.length("h\195\169") == 2)
            local idna = require "util.encodings".idna
            assert(idna.to_ascii("b\195\188cher.example") == "xn--bcher-kva.example")
            assert(idna.to_unicode("xn--bcher-kva.example") == "b\195\188cher.example")
            """);
    }

    [Fact]
    public void SmallNatives_ProvideTimeTableRandomAndUname()
    {
        Run("""
            local t = require "util.time"
            assert(type(t.now()) == "number" and t.now() > 1.6e9)
            assert(t.monotonic() <= t.monotonic())
            local ut = require "util.table"
            local p = ut.pack(1, nil, 3)
            assert(p.n == 3 and p[3] == 3)
            assert(type(ut.create(10, 2)) == "table")
            local r = require "util.random"
            assert(#r.bytes(16) == 16 and r.bytes(16) ~= r.bytes(16))
            local u = require "util.pposix".uname()
            assert(type(u.sysname) == "string" and type(u.machine) == "string")
            assert(not pcall(require "util.crand".bytes, -1))
            """);
    }

    [Fact]
    public void Searcher_ReportsMissingEmbeddedModules()
    {
        var error = TryRun("require 'util.does_not_exist'");
        Assert.NotNull(error);
        Assert.Contains("no embedded resource 'lua/util/does_not_exist.lua'", error);
    }
}
