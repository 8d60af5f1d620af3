using VqaPipeline.Hosting;
using VqaPipeline.Training;

if (await HealthProbe.RunIfAskedAsync(args) is { } exitCode)
    return exitCode;
return await ServiceEntryPoint.RunAsync(TrainingService.Name, () => TrainingService.Build(args));
