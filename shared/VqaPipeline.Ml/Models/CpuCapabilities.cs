using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;

namespace VqaPipeline.Ml.Models;

/// <summary>How libtorch computes bfloat16 matrix products on a CPU.</summary>
public enum Bfloat16Support
{
    /// <summary>
    /// No vectorized path: libtorch falls back to scalar emulation, orders of magnitude slower than float32 (an AVX2-only
    /// x86 CPU: a ViLT-B/32 benchmark's bfloat16 matmul did not finish in ten minutes where float32 took 32 s).
    /// </summary>
    Emulated,

    /// <summary>
    /// oneDNN's bfloat16 kernels run on AVX-512 (avx512bw, avx512vl, avx512dq) or AVX-NE-CONVERT by converting to float32
    /// in vector registers: about float32 speed, half the memory. libtorch takes its oneDNN path on these CPUs.
    /// </summary>
    Converted,

    /// <summary>bfloat16 dot-product instructions: AVX512_BF16 or AMX-BF16 on x86, the BF16 extension on Arm.</summary>
    Native,
}

/// <summary>
/// What the CPU offers for the kernels libtorch picks: the model name, the vector extensions that matter, and from them
/// whether bfloat16 runs at speed. Read from <c>/proc/cpuinfo</c> (the flags PyTorch's own checks use); where that file
/// is missing, from .NET's x86 intrinsics support.
/// </summary>
public sealed record CpuCapabilities(string Model, IReadOnlyList<string> VectorExtensions, Bfloat16Support Bfloat16)
{
    // The flags, in /proc/cpuinfo's spelling, that decide libtorch's and oneDNN's kernels, widest last.
    private static readonly string[] ReportedFlags =
    [
        "sse4_2", "avx", "fma", "avx2", "avx_vnni", "avx_ne_convert", "avx512f", "avx512bw", "avx512vl", "avx512dq",
        "avx512_vnni", "avx512_bf16", "avx512_fp16", "amx_tile", "amx_bf16", "amx_int8",
        // Arm (aarch64 "Features"): NEON, SVE and the BF16 extension.
        "asimd", "sve", "sve2", "bf16", "svebf16",
    ];

    private static readonly Lazy<CpuCapabilities> Detected = new(Detect);

    /// <summary>This machine's CPU, detected once.</summary>
    public static CpuCapabilities Current => Detected.Value;

    /// <summary>Whether bfloat16 compute on this CPU runs without libtorch's slow scalar emulation.</summary>
    public bool RunsBfloat16AtSpeed => Bfloat16 != Bfloat16Support.Emulated;

    /// <summary>One line for reports and errors, e.g. <c>AMD EPYC (x86_64; avx, fma, avx2; bfloat16 emulated)</c>.</summary>
    public string Describe() =>
        $"{Model} ({RuntimeInformation.ProcessArchitecture.ToString().ToLowerInvariant()}; " +
        $"{(VectorExtensions.Count == 0 ? "no vector extensions found" : string.Join(", ", VectorExtensions))}; " +
        $"bfloat16 {Bfloat16.ToString().ToLowerInvariant()})";

    /// <summary>Reads the first processor of a <c>/proc/cpuinfo</c> text (x86 "flags" or Arm "Features").</summary>
    public static CpuCapabilities FromCpuInfo(string cpuInfo)
    {
        string? model = null, flagsLine = null;
        foreach (var line in cpuInfo.Split('\n'))
        {
            var colon = line.IndexOf(':');
            if (colon < 0) continue;
            var key = line[..colon].Trim();
            var value = line[(colon + 1)..].Trim();
            if (model is null && key is "model name" or "Model" or "Hardware" && value.Length > 0) model = value;
            if (flagsLine is null && key is "flags" or "Features") flagsLine = value;
        }
        var flags = (flagsLine ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries).ToHashSet(StringComparer.Ordinal);
        return new CpuCapabilities(model ?? "unknown CPU", ReportedFlags.Where(flags.Contains).ToList(), Classify(flags));
    }

    /// <summary>
    /// Native with AVX512_BF16, AMX-BF16 or Arm BF16; converted with the AVX-512 subset oneDNN's bfloat16 kernels need
    /// (its <c>avx512_core</c>) or AVX-NE-CONVERT; emulated otherwise.
    /// </summary>
    private static Bfloat16Support Classify(IReadOnlySet<string> flags)
    {
        if (flags.Contains("avx512_bf16") || flags.Contains("amx_bf16") || flags.Contains("bf16") || flags.Contains("svebf16"))
            return Bfloat16Support.Native;
        if (flags.Contains("avx512bw") && flags.Contains("avx512vl") && flags.Contains("avx512dq") || flags.Contains("avx_ne_convert"))
            return Bfloat16Support.Converted;
        return Bfloat16Support.Emulated;
    }

    private static CpuCapabilities Detect()
    {
        const string cpuInfo = "/proc/cpuinfo";
        if (File.Exists(cpuInfo))
        {
            try
            {
                return FromCpuInfo(File.ReadAllText(cpuInfo));
            }
            catch (IOException)
            {
                // Unreadable (a sandbox): fall through to what the runtime reports.
            }
        }
        // Without /proc (Windows, macOS) the runtime still knows the x86 extensions; bfloat16 dot products it cannot see.
        var flags = new List<string>();
        if (Sse42.IsSupported) flags.Add("sse4_2");
        if (Avx.IsSupported) flags.Add("avx");
        if (Fma.IsSupported) flags.Add("fma");
        if (Avx2.IsSupported) flags.Add("avx2");
        if (AvxVnni.IsSupported) flags.Add("avx_vnni");
        if (Avx512F.IsSupported) flags.Add("avx512f");
        if (Avx512BW.IsSupported) flags.Add("avx512bw");
        if (Avx512F.VL.IsSupported) flags.Add("avx512vl");
        if (Avx512DQ.IsSupported) flags.Add("avx512dq");
        var set = flags.ToHashSet(StringComparer.Ordinal);
        return new CpuCapabilities(RuntimeInformation.OSDescription + " CPU", flags, Classify(set));
    }
}
