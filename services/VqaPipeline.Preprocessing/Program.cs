using VqaPipeline.Hosting;
using VqaPipeline.Preprocessing;

if (await HealthProbe.RunIfAskedAsync(args) is { } exitCode)
    return exitCode;
return await ServiceEntryPoint.RunAsync(PreprocessingService.Name, () => PreprocessingService.Build(args));
