/** Class names, index 0–9. The API answers with the German names the thesis used (SPEC §2). */
export const CLASS_NAMES_DE = [
  'T-shirt/Top',
  'Hosen',
  'Pullover',
  'Kleid',
  'Mantel',
  'Sandalen',
  'Shirt',
  'Sneaker',
  'Rucksack',
  'Ankle boot',
] as const;

export const CLASS_NAMES_EN = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
] as const;

export const NUM_CLASSES = 10;
