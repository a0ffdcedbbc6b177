using System.Security.Cryptography;
using KeraLua;

namespace LuaXmpp.LuaBridge.Libraries;

/// <summary>
/// util.hashes: digests, HMACs, PBKDF2 (RFC 8018 §5.2; SCRAM's Hi() of RFC 5802 §2.2 is PBKDF2
/// with HMAC-SHA-1) and a constant-time comparison. Digest functions return raw bytes, or lower-case
/// hex when their last argument is true, as Prosody's do.
/// </summary>
internal sealed class HashesLibrary : INativeLibrary
{
    private static readonly LuaFunction DigestFn = Digest;
    private static readonly LuaFunction HmacFn = Hmac;
    private static readonly LuaFunction Pbkdf2Fn = Pbkdf2;
    private static readonly LuaFunction EqualsFn = ConstantTimeEquals;

    public string Name => "util.hashes";

    public IReadOnlyList<NativeFunction> Functions { get; } =
    [
        new("digest", DigestFn), new("hmac", HmacFn), new("pbkdf2", Pbkdf2Fn), new("equals", EqualsFn),
    ];

    public string Shim => """
        local raw = ...
        local function need_string(v, n, fname)
          if type(v) ~= "string" and type(v) ~= "number" then
            error(("bad argument #%d to '%s' (string expected, got %s)"):format(n, fname, type(v)), 3)
          end
        end
        local function unwrap(fname, ok, err, ...)
          if ok == nil then error(fname .. ": " .. tostring(err), 3) end
          return ok, err, ...
        end
        local M = {}
        for _, alg in ipairs({ "sha1", "sha224", "sha256", "sha384", "sha512", "md5" }) do
          M[alg] = function(data, hex)
            need_string(data, 1, alg)
            return unwrap(alg, raw.digest(alg, data, not not hex))
          end
        end
        for _, alg in ipairs({ "sha1", "sha256", "sha512", "md5", "sha224", "sha384" }) do
          local fname = "hmac_" .. alg
          M[fname] = function(key, data, hex)
            need_string(key, 1, fname); need_string(data, 2, fname)
            return unwrap(fname, raw.hmac(alg, key, data, not not hex))
          end
        end
        local function pbkdf2(alg, fname)
          return function(password, salt, iterations)
            need_string(password, 1, fname); need_string(salt, 2, fname)
            if math.type(iterations) ~= "integer" and not (type(iterations) == "number" and iterations % 1 == 0) then
              error(("bad argument #3 to '%s' (number has no integer representation)"):format(fname), 2)
            end
            return unwrap(fname, raw.pbkdf2(alg, password, salt, math.tointeger(iterations)))
          end
        end
        M.scram_Hi_sha1 = pbkdf2("sha1", "scram_Hi_sha1")
        M.pbkdf2_hmac_sha1 = pbkdf2("sha1", "pbkdf2_hmac_sha1")
        M.pbkdf2_hmac_sha256 = pbkdf2("sha256", "pbkdf2_hmac_sha256")
        M.equals = function(a, b)
          need_string(a, 1, "equals"); need_string(b, 2, "equals")
          return raw.equals(a, b)
        end
        M.version = "LuaXmpp .NET cryptography"
        return M
        """;

    private static int Digest(IntPtr state) => NativeBoundary.Invoke(state, lua =>
    {
        var data = NativeBoundary.OptBytes(lua, 2) ?? [];
        byte[] hash = lua.ToString(1) switch
        {
            "sha1" => SHA1.HashData(data),
            "sha224" => Sha224.Hash(data),
            "sha256" => SHA256.HashData(data),
            "sha384" => SHA384.HashData(data),
            "sha512" => SHA512.HashData(data),
            "md5" => MD5.HashData(data),
            var other => throw new ArgumentException("unknown digest " + other),
        };
        return PushHash(lua, hash, lua.ToBoolean(3));
    });

    private static int Hmac(IntPtr state) => NativeBoundary.Invoke(state, lua =>
    {
        var key = NativeBoundary.OptBytes(lua, 2) ?? [];
        var data = NativeBoundary.OptBytes(lua, 3) ?? [];
        byte[] mac = lua.ToString(1) switch
        {
            "sha1" => HMACSHA1.HashData(key, data),
            "sha224" => Sha224.Hmac(key, data),
            "sha256" => HMACSHA256.HashData(key, data),
            "sha384" => HMACSHA384.HashData(key, data),
            "sha512" => HMACSHA512.HashData(key, data),
            "md5" => HMACMD5.HashData(key, data),
            var other => throw new ArgumentException("unknown digest " + other),
        };
        return PushHash(lua, mac, lua.ToBoolean(4));
    });

    private static int Pbkdf2(IntPtr state) => NativeBoundary.Invoke(state, lua =>
    {
        var (algorithm, length) = lua.ToString(1) == "sha256" ? (HashAlgorithmName.SHA256, 32) : (HashAlgorithmName.SHA1, 20);
        var password = NativeBoundary.OptBytes(lua, 2) ?? [];
        var salt = NativeBoundary.OptBytes(lua, 3) ?? [];
        long iterations = lua.ToInteger(4);
        if (iterations < 1 || iterations > int.MaxValue) return NativeBoundary.Fail(lua, "iteration count out of range");
        lua.PushBuffer(Rfc2898DeriveBytes.Pbkdf2(password, salt, (int)iterations, algorithm, length));
        return 1;
    });

    private static int ConstantTimeEquals(IntPtr state) => NativeBoundary.Invoke(state, lua =>
    {
        var a = NativeBoundary.OptBytes(lua, 1) ?? [];
        var b = NativeBoundary.OptBytes(lua, 2) ?? [];
        // FixedTimeEquals leaks only the lengths, as Prosody's equals does.
        lua.PushBoolean(CryptographicOperations.FixedTimeEquals(a, b));
        return 1;
    });

    private static int PushHash(Lua lua, byte[] hash, bool hex)
    {
        if (hex) lua.PushString(Convert.ToHexStringLower(hash));
        else lua.PushBuffer(hash);
        return 1;
    }
}
