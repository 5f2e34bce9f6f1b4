import { Enums, Models, Serialize, Spec } from '@cyclonedx/cyclonedx-library';
import type { ImageReport } from './model.ts';

/**
 * CycloneDX 1.5 JSON SBOM of an analyzed image: the image as metadata.component, each identified
 * component as a library with its purl and the image paths it was found at (as properties).
 */
export function toCycloneDx(report: ImageReport): string {
  const bom = new Models.Bom();
  bom.metadata.component = new Models.Component(Enums.ComponentType.Firmware, report.name, {
    bomRef: 'image',
  });
  for (const c of report.components) {
    const comp = new Models.Component(Enums.ComponentType.Library, c.name, {
      version: c.version ?? undefined,
      purl: c.purl,
      bomRef: `${c.purl}#${c.source}`,
    });
    comp.properties.add(new Models.Property('fleetward:source', c.source));
    for (const p of c.paths.slice(0, 5)) comp.properties.add(new Models.Property('fleetward:path', p));
    bom.components.add(comp);
  }
  const serializer = new Serialize.JsonSerializer(new Serialize.JSON.Normalize.Factory(Spec.Spec1dot5));
  return serializer.serialize(bom, { sortLists: true, space: 2 });
}
