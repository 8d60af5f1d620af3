using VqaPipeline.Hosting;
using VqaPipeline.Training;

if (await HealthProbe.RunIfAskedAsync(args) is { } exitCode)
    return exitCode;
return await ServiceEntryPoint.RunAsync(TrainingService.Name, () =>
{
    var builder = WebApplication.CreateBuilder(args);
    builder.AddTraining();
    var app = builder.Build();
    app.MapTraining();
    return app;
});
