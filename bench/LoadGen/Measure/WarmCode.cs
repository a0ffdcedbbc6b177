using System.Reflection;
using System.Runtime.CompilerServices;

namespace LuaXmpp.Bench.LoadGen.Measure;

/// <summary>
/// Compiles the load generator's own code for a measured path before it is timed, so that a
/// latency figure holds the server's time and not the first call's JIT in this process (the
/// same for every server measured). Generic methods are left out: they have no single body.
/// </summary>
public static class WarmCode
{
    public static void Prepare(params Type[] types)
    {
        const BindingFlags declared = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;
        foreach (var type in types.SelectMany(WithNested).Where(t => !t.ContainsGenericParameters))
        {
            foreach (var method in type.GetMethods(declared).Where(m => !m.IsAbstract && !m.ContainsGenericParameters))
            {
                try
                {
                    RuntimeHelpers.PrepareMethod(method.MethodHandle);
                }
                catch (ArgumentException)
                {
                    // Not preparable ahead (e.g. a runtime-implemented delegate method).
                }
            }
        }
    }

    private static IEnumerable<Type> WithNested(Type type) =>
        new[] { type }.Concat(type.GetNestedTypes(BindingFlags.Public | BindingFlags.NonPublic).SelectMany(WithNested));
}
