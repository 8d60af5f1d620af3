using VqaPipeline.Gateway;
using VqaPipeline.Hosting;

if (await HealthProbe.RunIfAskedAsync(args) is { } exitCode)
    return exitCode;
return await ServiceEntryPoint.RunAsync(GatewayService.Name, () => GatewayService.Build(args));
