import type { DetectionLabel } from '../detections/detections.schema.js';

/**
 * COCO classes as a household names them. CenterNet tells a cat from a dog poorly (a cat scored "dog"
 * in testing), so both are a pet; what else COCO knows (cups, chairs) is not an event.
 */
const HOUSEHOLD: Record<string, DetectionLabel> = {
  person: 'person',
  cat: 'pet',
  dog: 'pet',
  car: 'vehicle',
  truck: 'vehicle',
  bus: 'vehicle',
  motorcycle: 'vehicle',
  bicycle: 'vehicle',
};

export function householdLabel(cocoLabel: string): DetectionLabel | null {
  return HOUSEHOLD[cocoLabel] ?? null;
}
