using VqaPipeline.Ml.Models;
using static TorchSharp.torch;

namespace VqaPipeline.Ml.Tests.Models;

/// <summary>What /proc/cpuinfo says about bfloat16, and what the engine does with it.</summary>
public class CpuCapabilitiesTests
{
    private const string Avx2Only = """
        processor	: 0
        vendor_id	: AuthenticAMD
        model name	: AMD EPYC 7B13 64-Core Processor
        flags		: fpu sse sse2 ssse3 fma sse4_1 sse4_2 avx f16c avx2 bmi2 sha_ni vaes

        processor	: 1
        model name	: AMD EPYC 7B13 64-Core Processor
        flags		: fpu sse sse2 ssse3 fma sse4_1 sse4_2 avx f16c avx2 bmi2 sha_ni vaes
        """;

    private const string SapphireRapids = """
        processor	: 0
        model name	: Intel(R) Xeon(R) Platinum 8480+
        flags		: fpu sse4_2 avx fma avx2 avx512f avx512dq avx512bw avx512vl avx512_vnni avx512_bf16 avx512_fp16 amx_bf16 amx_tile amx_int8
        """;

    private const string CascadeLake = """
        model name	: Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz
        flags		: fpu sse4_2 avx fma avx2 avx512f avx512dq avx512bw avx512vl avx512_vnni
        """;

    private const string Graviton3 = """
        processor	: 0
        BogoMIPS	: 2100.00
        Features	: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm sve svebf16 bf16 i8mm
        CPU implementer	: 0x41
        """;

    [Fact]
    public void An_avx2_only_cpu_emulates_bfloat16()
    {
        var cpu = CpuCapabilities.FromCpuInfo(Avx2Only);
        Assert.Equal("AMD EPYC 7B13 64-Core Processor", cpu.Model);
        Assert.Equal(["sse4_2", "avx", "fma", "avx2"], cpu.VectorExtensions);
        Assert.Equal(Bfloat16Support.Emulated, cpu.Bfloat16);
        Assert.False(cpu.RunsBfloat16AtSpeed);
    }

    [Theory]
    [InlineData(SapphireRapids, Bfloat16Support.Native)]
    [InlineData(CascadeLake, Bfloat16Support.Converted)]
    [InlineData(Graviton3, Bfloat16Support.Native)]
    public void Bfloat16_instructions_are_native_and_avx512_alone_converts(string cpuInfo, Bfloat16Support expected)
    {
        var cpu = CpuCapabilities.FromCpuInfo(cpuInfo);
        Assert.Equal(expected, cpu.Bfloat16);
        Assert.True(cpu.RunsBfloat16AtSpeed);
    }

    [Fact]
    public void The_description_names_the_model_the_extensions_and_the_bfloat16_support()
    {
        var description = CpuCapabilities.FromCpuInfo(SapphireRapids).Describe();
        Assert.StartsWith("Intel(R) Xeon(R) Platinum 8480+ (", description);
        Assert.Contains("avx512_bf16", description);
        Assert.Contains("amx_bf16", description);
        Assert.EndsWith("bfloat16 native)", description);
    }

    [Fact]
    public void Bfloat16_on_an_emulating_cpu_is_refused_in_one_line_naming_the_cpu_unless_allowed()
    {
        var cpu = CpuCapabilities.FromCpuInfo(Avx2Only);
        var refused = Assert.Throws<DeviceUnavailableException>(() =>
            TorchRuntime.EnsureDTypeRunsAtSpeed(ScalarType.BFloat16, CPU, allowEmulatedBfloat16: false, cpu));
        Assert.DoesNotContain('\n', refused.Message);
        Assert.Contains("AMD EPYC 7B13 64-Core Processor (", refused.Message);
        Assert.Contains("avx2; bfloat16 emulated", refused.Message);
        Assert.Contains("--allow-emulated-bfloat16", refused.Message);

        TorchRuntime.EnsureDTypeRunsAtSpeed(ScalarType.BFloat16, CPU, allowEmulatedBfloat16: true, cpu);
        TorchRuntime.EnsureDTypeRunsAtSpeed(ScalarType.Float32, CPU, allowEmulatedBfloat16: false, cpu);
        TorchRuntime.EnsureDTypeRunsAtSpeed(ScalarType.BFloat16, CPU, allowEmulatedBfloat16: false, CpuCapabilities.FromCpuInfo(CascadeLake));
    }

    [Fact]
    public void The_cpu_check_leaves_gpus_alone() =>
        Assert.Null(TorchRuntime.SlowDTypeReason(ScalarType.BFloat16, new Device(TorchSharp.DeviceType.CUDA, 0), CpuCapabilities.FromCpuInfo(Avx2Only)));

    [Fact]
    public void This_machine_is_described()
    {
        var cpu = CpuCapabilities.Current;
        Assert.False(string.IsNullOrWhiteSpace(cpu.Model));
        Assert.Equal(cpu.RunsBfloat16AtSpeed, TorchRuntime.SlowDTypeReason(ScalarType.BFloat16, CPU) is null);
    }
}
