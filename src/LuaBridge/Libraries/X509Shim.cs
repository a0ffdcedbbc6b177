namespace LuaXmpp.LuaBridge.Libraries;

/// <summary>
/// The Lua half of <see cref="X509Library"/>: certificate objects with LuaSec's methods, argument
/// checks that raise as LuaSec's do, and digests from util.hashes over the DER.
/// </summary>
internal static class X509Shim
{
    public const string Source = """
        local raw = ...
        local hashes = require "util.hashes"
        local fields = setmetatable({}, { __mode = "k" })
        local methods = {}
        local cert_mt = { __name = "SSL:Certificate", __index = methods }
        function cert_mt:__tostring() return ("X509 certificate: %s"):format(fields[self].id) end

        local function get(self, fname)
          local f = fields[self]
          if not f then error(("bad argument #1 to '%s' (SSL:Certificate expected, got %s)"):format(fname, type(self)), 3) end
          return f
        end
        local function copy(t)
          local c = {}
          for k, v in pairs(t) do c[k] = type(v) == "table" and copy(v) or v end
          return c
        end

        -- LuaSec offers these three digests (hex, lower case); sha1 when none is named.
        local digests = { sha1 = hashes.sha1, sha256 = hashes.sha256, sha512 = hashes.sha512 }
        function methods:digest(alg)
          local f = get(self, "digest")
          alg = alg or "sha1"
          local fn = digests[alg]
          if not fn then return nil, ("digest algorithm not supported (%s)"):format(tostring(alg)) end
          return (fn(f.der, true))
        end
        function methods:pem() return get(self, "pem").pem end
        function methods:notbefore() return get(self, "notbefore").notbefore end
        function methods:notafter() return get(self, "notafter").notafter end
        function methods:validat(when)
          local f = get(self, "validat")
          if type(when) ~= "number" then
            error(("bad argument #2 to 'validat' (number expected, got %s)"):format(when == nil and "no value" or type(when)), 2)
          end
          return f.notbefore_t <= when and when <= f.notafter_t
        end
        function methods:serial() return get(self, "serial").serial end
        function methods:subject() return copy(get(self, "subject").subject) end
        function methods:issuer() return copy(get(self, "issuer").issuer) end
        function methods:extensions() return copy(get(self, "extensions").extensions) end
        function methods:getsignaturename() return get(self, "getsignaturename").signature end
        function methods:pubkey()
          local k = get(self, "pubkey").pubkey
          return k[1], k[2], k[3]
        end
        -- Strings are always UTF-8 here; LuaSec's two encodings are accepted.
        function methods:setencode(mode)
          get(self, "setencode")
          return mode == "utf8" or mode == "ai5"
        end
        function methods:issued(...)
          local f = get(self, "issued")
          local cas = {}
          for i = 1, select("#", ...) do
            local ca = fields[(select(i, ...))]
            if not ca then error(("bad argument #%d to 'issued' (SSL:Certificate expected)"):format(i + 1), 2) end
            cas[i] = ca.der
          end
          local ok, err = raw.issued(f.der, table.unpack(cas))
          if ok then return true end
          return false, err
        end

        local x509 = {}
        -- load(pem) or load(der, "der"): a certificate, or nil when the data holds none.
        function x509.load(data, mode)
          if type(data) ~= "string" then
            error(("bad argument #1 to 'load' (string expected, got %s)"):format(type(data)), 2)
          end
          local f = raw.parse(data, mode == "der")
          if not f then return nil end
          local cert = {}
          f.id = tostring(cert):match("0x%x+") or "?"
          fields[cert] = f
          return setmetatable(cert, cert_mt)
        end
        return x509
        """;
}
