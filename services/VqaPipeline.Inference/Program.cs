using VqaPipeline.Hosting;
using VqaPipeline.Inference;

if (await HealthProbe.RunIfAskedAsync(args) is { } exitCode)
    return exitCode;
return await ServiceEntryPoint.RunAsync(InferenceService.Name, () => InferenceService.Build(args));
